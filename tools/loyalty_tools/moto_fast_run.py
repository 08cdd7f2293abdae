"""The local moto server during `loyalty reclassify` (issue 19, item 6): what it does per request and per
Scan page, at a cost that does not grow with the table.

Measured with bench/local_stack.py (py-spy of the server and the CLI during the run, 2,000 and 5,000
customers, every customer changed): each changed customer is one conditional PutItem, a tenth of a
PutEvents, and its share of the Scan pages. A fifth of the server's samples sat in werkzeug's drain
after each answer (below), and each Scan page walked the whole table.
"""

from __future__ import annotations

import selectors
from typing import Any


class NoWaitSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """A selector whose select() does not wait: it reports only what is ready now."""

    def select(self, timeout: float | None = None) -> list[Any]:
        return super().select(0)


class NoWaitSelectors:
    """Stands in for the `selectors` module inside werkzeug.serving (only its drain uses it)."""

    EVENT_READ = selectors.EVENT_READ
    EVENT_WRITE = selectors.EVENT_WRITE
    DefaultSelector = NoWaitSelector

    def __getattr__(self, name: str) -> Any:
        return getattr(selectors, name)


def answer_without_drain_wait() -> None:
    """After writing each answer, werkzeug's development server (3.1, serving.py run_wsgi) waits up to
    10 ms for more bytes of the request before it closes the connection, in case the application left
    part of a body unread; the wait ends early only when the client closes its side. boto3's client
    closes it when one of its threads next gets the GIL, so the single-threaded server sat idle for a
    fifth of a monthly run (py-spy: EpollSelector.select under run_wsgi.execute) while the CLI's
    threads waited for it. moto reads every request's body whole (request.data) before it answers, so
    nothing is left to drain: bytes already there are still read and discarded, the wait is dropped."""
    from werkzeug import serving

    if isinstance(serving.selectors, NoWaitSelectors):
        return
    serving.selectors = NoWaitSelectors()  # type: ignore[assignment]


def scan_without_item_copies() -> None:
    """moto's Table.scan deep-copies every item of a page before returning it (a tenth of the local
    server's samples during a monthly run, py-spy, after the patches above): the page is read once, to
    serialize the answer, within the same request. With no index and no projection (moto's only
    callers that build new items from the copy), the items are returned as they are; anything else
    takes moto's path. Safe because the local moto server serves one request at a time
    (threaded=False): no write runs between a page's scan and its answer."""
    from moto.dynamodb.models import table as table_module

    from loyalty_tools.moto_fast import CopySkipping

    table_class = table_module.Table
    if getattr(table_class.scan, "_no_item_copies", False):
        return
    original = table_class.scan

    def scan(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[4] if len(args) > 4 else None)
        projection = kwargs.get("projection_expression", args[6] if len(args) > 6 else None)
        if index_name or projection:
            return original(self, *args, **kwargs)
        saved, table_module.copy = table_module.copy, CopySkipping(table_module.Item)  # type: ignore[attr-defined]
        try:
            return original(self, *args, **kwargs)
        finally:
            table_module.copy = saved  # type: ignore[attr-defined]

    scan._no_item_copies = True  # type: ignore[attr-defined]
    scan._moto = original  # type: ignore[attr-defined]
    table_class.scan = scan  # type: ignore[method-assign]


def install_run() -> None:
    """The patches of this file, for the local moto server (localstack.serve_moto, via install_all)."""
    answer_without_drain_wait()
    scan_without_item_copies()
