"""moto's TransactWriteItems, at a cost that does not grow with the table.

moto (5.2) deep-copies every table a transaction touches before applying it, to roll back on a failed
condition: each write costs O(items in the table), about 0.12 ms per item, so the local stack slows to
0.6 s per purchase at 5,000 transactions. This keeps the same all-or-nothing behaviour by snapshotting
only the items the transaction touches and putting them back when moto cancels it.
"""

from __future__ import annotations

import base64
import copy
from typing import Any


class CopySkipping:
    """Stands in for the `copy` module inside moto.dynamodb.models during one call: deepcopy gives
    values of `kind` back as they are (a table for a transaction, an item for an update)."""

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, self.kind) else copy.deepcopy(value, memo)


def install() -> None:
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "_item_snapshots", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = [s for s in (_snapshot(self, entry) for entry in transact_items) if s is not None]
        saved, models.copy = models.copy, CopySkipping(models.Table)  # type: ignore[attr-defined]
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, item in reversed(snapshots):
                if item is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            raise
        finally:
            models.copy = saved  # type: ignore[attr-defined]

    transact_write_items._item_snapshots = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _snapshot(backend: Any, entry: Any) -> tuple[str, dict[str, Any], Any] | None:
    """(table, key, a copy of the item as it is now or None) for one operation of a transaction."""
    if not isinstance(entry, dict) or len(entry) != 1:
        return None
    op_type, op = next(iter(entry.items()))
    table = backend.tables.get(op.get("TableName") if isinstance(op, dict) else None)
    if table is None:
        return None
    if op_type == "Put":
        attrs = op.get("Item") or {}
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        key = {name: attrs.get(name) for name in names}
    else:
        key = op.get("Key") or {}
    if not key or None in key.values():
        return None
    try:
        return table.name, key, copy.deepcopy(backend.get_item(table.name, key))
    except Exception:  # an invalid key: moto refuses the whole transaction before writing anything
        return None


def cache_backend_lookup(dispatcher: Any) -> None:
    """Remember which moto backend app serves a request's signing scope.

    moto's dispatcher works out the service of every request from its headers and body, walking the
    list of moto modules each time (about a fifth of a small request's cost). A SigV4 request names
    its region and service in the Authorization header, so the answer for one (scope, host) pair is
    always the same app; requests without a signature take moto's own path.
    """
    original = dispatcher.get_application
    apps: dict[tuple[str, str], Any] = {}

    def get_application(environ: dict[str, Any]) -> Any:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        path = environ.get("PATH_INFO", "")
        start = auth.find("Credential=")
        if start < 0 or path.startswith("/moto-api"):
            return original(environ)
        scope = auth[start : auth.find(",", start)].split("/", 2)[-1]  # region/service/aws4_request
        key = (scope, environ.get("HTTP_HOST", ""))
        app = apps.get(key)
        if app is None:
            app = apps[key] = original(environ)
        return app

    dispatcher.get_application = get_application


def cheap_queue_attributes_on_send() -> None:
    """moto's SendMessage (every event the bus delivers to the local marketing queue) reads
    `queue.attributes` for one flag, and that property counts the messages held three times over:
    each event costs O(queue length), and a monthly run that publishes n events O(n^2). During a send
    the property gives only that flag. Safe because the local moto server serves one request at a time
    (threaded=False): no other request can read the attributes while a send holds the cheap ones."""
    from moto.sqs import models

    backend = models.SQSBackend
    if getattr(backend.send_message, "_cheap_attributes", False):
        return
    original = backend.send_message
    full = models.Queue.attributes

    def flag(queue: Any) -> str:
        value = getattr(queue, "content_based_deduplication", False)
        return str(value).lower() if isinstance(value, bool) else str(value)

    cheap = property(lambda queue: {"ContentBasedDeduplication": flag(queue)})

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        models.Queue.attributes = cheap  # type: ignore[assignment]
        try:
            return original(self, *args, **kwargs)
        finally:
            models.Queue.attributes = full  # type: ignore[assignment]

    send_message._cheap_attributes = True  # type: ignore[attr-defined]
    backend.send_message = send_message  # type: ignore[method-assign]


def cached_event_input_paths() -> None:
    """moto's EventBridge builds each event delivered to a target through an input template whose
    JSONPath expressions it parses again for every event, and jsonpath_ng builds a whole PLY parser
    per parse: about 40 % of the local moto server's time during a monthly run. The expressions are
    few and fixed (the default template's), and a parsed expression is only read (`find`): parsed once."""
    import functools

    import jsonpath_ng.ext

    if getattr(jsonpath_ng.ext.parse, "_cached", False):
        return
    cached = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
    cached._cached = True  # type: ignore[attr-defined]
    jsonpath_ng.ext.parse = cached  # type: ignore[assignment]


# Answers made of AttributeValues, strings, numbers and booleans (DynamoResult), reads and item writes.
FAST_ANSWERS = frozenset(
    {"Scan", "Query", "GetItem", "BatchGetItem", "TransactGetItems", "PutItem", "UpdateItem", "DeleteItem"}
)


def plain_json_reads() -> None:
    """moto 5.2 serializes every DynamoDB answer by walking the botocore shape of the operation, value
    by value (AttributePicker, get_value): a 1 MB Scan page costs ~3 ms an item, a fifth of the local
    server's time in a monthly run (py-spy, bench/local_stack.py --profile), and a PutItem's small
    answer 2 ms. The result is already DynamoDB's JSON (AttributeValues of strings, lists, maps and
    booleans; binary values as bytes, which moto's serializer writes in base64 and so does _blob), so
    json.dumps gives the same body; the status and headers are the ones moto's serializer gives the
    operation's empty answer (serialized once per operation: the first answer used to take the slow
    path, and at the bench's sizes the first Scan page is the whole table).
    Anything else json.dumps refuses (a Decimal, a datetime) takes moto's own path."""
    import json

    from moto.dynamodb import responses

    result_class = responses.DynamoResult
    if getattr(result_class.execute_result, "_plain_json", False):
        return
    original = result_class.execute_result
    first: dict[str, tuple[int, dict[str, str]]] = {}

    def execute_result(self: Any, context: Any) -> Any:
        name = getattr(context.operation_model, "name", "")
        if name not in FAST_ANSWERS:
            return original(self, context)
        try:
            body = json.dumps({k: v for k, v in self.result.items() if v is not None}, default=_blob)
        except (TypeError, ValueError, AttributeError):
            return original(self, context)
        if name not in first:
            empty = result_class.__new__(result_class)
            empty._result = {}
            status, headers, _ = original(empty, context)
            if status != 200:
                return original(self, context)
            first[name] = (status, dict(headers))
        status, headers = first[name]
        return status, dict(headers), body

    execute_result._plain_json = True  # type: ignore[attr-defined]
    result_class.execute_result = execute_result  # type: ignore[method-assign]


def _blob(value: Any) -> str:
    """A blob in an answer, as moto's JSON serializer writes it (base64); anything else is refused."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def update_item_without_stream_copy() -> None:
    """moto's UpdateItem deep-copies the item before updating it, for the table's stream only (the old
    image); the local tables have no stream, and the copy of a customer item is a sixth of moto's
    UpdateItem (py-spy). Without a stream the copy is skipped; with one, moto's own path."""
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.update_item, "_no_stream_copy", False):
        return
    original = backend.update_item

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        table = self.tables.get(table_name)
        if table is None or table.stream_shard is not None:
            return original(self, table_name, *args, **kwargs)
        saved, models.copy = models.copy, CopySkipping(models.Item)  # type: ignore[attr-defined]
        try:
            return original(self, table_name, *args, **kwargs)
        finally:
            models.copy = saved  # type: ignore[attr-defined]

    update_item._no_stream_copy = True  # type: ignore[attr-defined]
    backend.update_item = update_item  # type: ignore[method-assign]


def install_all() -> None:
    """Every patch the local moto server runs with (serve_moto), in one call: also for tests that want
    in-process moto to behave as the local stack's (tests/moto_fast_plugin.py)."""
    from loyalty_tools.moto_fast_requests import (
        cached_action_names,
        cached_condition_expressions,
        items_sized_once,
        plain_json_requests,
        scan_order_by_native_keys,
    )

    install()  # TransactWriteItems at a cost that does not grow with the table
    cheap_queue_attributes_on_send()  # SendMessage at a cost that does not grow with the queue
    cached_event_input_paths()  # PutEvents without building a JSONPath parser per event
    plain_json_reads()  # answers without walking the botocore shape per value
    update_item_without_stream_copy()  # UpdateItem without a copy of the item for a stream we lack
    plain_json_requests()  # requests without walking the botocore shape per value
    cached_condition_expressions()  # each ConditionExpression parsed once
    items_sized_once()  # an item's size summed once, not once per attribute
    cached_action_names()  # the handler's method names listed once per class, not per request
    scan_order_by_native_keys()  # a Scan page's sort of the table by string keys compared natively
    from loyalty_tools.moto_fast_run import install_run

    install_run()  # the monthly run's requests and Scan pages (tools/loyalty_tools/moto_fast_run.py)
