"""The local moto server's patches for the monthly run (tools/loyalty_tools/moto_fast_run.py) give moto's
own answers: Scan pages without item copies, the answer's drain without a wait."""

from __future__ import annotations

import selectors
import socket
from typing import Any
from unittest import mock

import boto3
import pytest
from loyalty_tools.moto_fast_run import NoWaitSelector, install_run
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

TABLE = "scan-patch"


@pytest.fixture
def table() -> Any:
    install_run()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(120):
            client.put_item(
                TableName=TABLE,
                Item={
                    "pk": {"S": f"C{n:04d}"},
                    "n": {"N": str(n * 7 - 300)},
                    "m": {"M": {"a": {"L": [{"S": "x"}, {"N": "1.5"}]}, "b": {"BOOL": n % 2 == 0}}},
                    "blob": {"B": bytes([n % 256]) * 3},
                    "tags": {"SS": [f"t{n % 5}", "all"]},
                },
            )
        yield client, dynamodb_backends["123456789012"]["eu-west-1"].get_table(TABLE)


def pages(scan: Any, table: Table, segment: int, total: int) -> list[tuple[list[dict], Any]]:
    out, start = [], None
    while True:
        items, _, last = scan(table, {}, 7, start, None, None, False, None, segments=(segment, total))
        out.append(([item.to_json() for item in items], last))
        if last is None:
            return out
        start = last


def test_scan_pages_without_copies_are_moto_s_pages(table: Any) -> None:
    _, stored = table
    for segment in range(3):
        assert pages(Table.scan, stored, segment, 3) == pages(Table.scan._moto, stored, segment, 3)  # type: ignore[attr-defined]
    items, _, _ = Table.scan(stored, {}, 500, None, None, None, False, None, segments=(None, None))
    assert len(items) == 120
    assert all(item is stored.items[item.hash_key] for item in items)  # no copy made


def test_a_scan_with_a_projection_keeps_moto_s_copies(table: Any) -> None:
    client, stored = table
    items, _, _ = Table.scan(stored, {}, 500, None, None, None, False, [["n"]], segments=(None, None))
    assert len(items) == 120 and all(set(item.attrs) == {"n"} for item in items)
    assert all(item is not stored.items[item.hash_key] for item in items)
    answered = client.scan(TableName=TABLE, Segment=1, TotalSegments=2)["Items"]
    assert answered and all(set(item) == {"pk", "n", "m", "blob", "tags"} for item in answered)


def test_the_drain_after_an_answer_looks_without_waiting() -> None:
    from werkzeug import serving

    install_run()
    assert serving.selectors.DefaultSelector is NoWaitSelector
    waited: list[float | None] = []
    base = selectors.DefaultSelector.select

    def recording(self: Any, timeout: float | None = None) -> Any:
        waited.append(timeout)
        return base(self, timeout)

    left, right = socket.socketpair()
    with left, right, mock.patch.object(selectors.DefaultSelector, "select", recording):
        selector = serving.selectors.DefaultSelector()
        selector.register(left, serving.selectors.EVENT_READ)
        assert selector.select(timeout=0.01) == []  # nothing sent: no wait for it
        right.sendall(b"rest of a body")
        assert len(selector.select(timeout=0.01)) == 1  # what is there is still drained
        selector.close()
    assert waited == [0, 0]
