"""Faults injected at the AWS seam (botocore's _make_api_call, under pynamodb and boto3 alike), with moto
in process behind it: throttling, transaction conflicts, partial PutEvents failures, a lost response,
a worker killed mid-segment. After each: no points lost or doubled, every expected event delivered.

The injected errors stand for what reaches the code once the SDK's own retries have given up.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import botocore.client
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from loyalty.adapters.customer_store import DynamoCustomerStore
from loyalty.adapters.eventbridge import EventBridgePublisher
from loyalty.adapters.transaction_store import DynamoTransactionStore
from loyalty.api import deps
from loyalty.events import DetailType, DomainEvent, event_id
from loyalty.service.ingest import IngestService
from loyalty.service.points import PointsService
from loyalty_tools.apigw import LocalContext, proxy_event
from loyalty_tools.gateway import load_handler

from tests.helpers import FIXED_NOW, default_programme, purchase_body, use_services

_real_call = botocore.client.BaseClient._make_api_call

Action = Exception | Callable[[Any, dict[str, Any]], dict[str, Any]] | None


def client_error(code: str, operation: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}, **extra}, operation)


def throttle(operation: str, code: str = "ProvisionedThroughputExceededException") -> ClientError:
    return client_error(code, operation)


def conflict() -> ClientError:
    return client_error(
        "TransactionCanceledException",
        "TransactWriteItems",
        CancellationReasons=[{"Code": "None"}, {"Code": "TransactionConflict", "Message": "conflict"}],
    )


@dataclass
class Seam:
    """Faults queued per operation (consumed one per call; None = the real call), the calls made, and
    every event entry AWS accepted."""

    plan: dict[str, list[Action]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    put_events_requests: list[list[dict[str, Any]]] = field(default_factory=list)

    def queue(self, operation: str, *actions: Action) -> None:
        self.plan.setdefault(operation, []).extend(actions)

    def delivered_ids(self) -> Counter[str]:
        return Counter(json.loads(e["Detail"])["event_id"] for e in self.delivered)

    def call(self, client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls[operation] += 1
        if operation == "PutEvents":
            self.put_events_requests.append(list(params["Entries"]))
        queued = self.plan.get(operation)
        action = queued.pop(0) if queued else None
        if isinstance(action, Exception):
            raise action
        if action is not None:
            return action(client, params)
        response = _real_call(client, operation, params)
        if operation == "PutEvents":
            self.delivered.extend(params["Entries"])
        return response

    def partial_failure(self, failed_positions: set[int]) -> Callable[[Any, dict[str, Any]], dict[str, Any]]:
        """A PutEvents answer with FailedEntryCount > 0: the other entries really go to the bus."""

        def answer(client: Any, params: dict[str, Any]) -> dict[str, Any]:
            entries = params["Entries"]
            ok = [e for i, e in enumerate(entries) if i not in failed_positions]
            if ok:
                _real_call(client, "PutEvents", {"Entries": ok})
                self.delivered.extend(ok)
            results = [
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "injected"}
                if i in failed_positions
                else {"EventId": f"ok-{i}"}
                for i in range(len(entries))
            ]
            return {"FailedEntryCount": len(failed_positions & set(range(len(entries)))), "Entries": results}

        return answer


@pytest.fixture
def seam(aws_tables) -> Iterator[Seam]:
    state = Seam()

    def patched(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        return state.call(self, operation_name, api_params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", patched):
        yield state


@pytest.fixture
def api(aws_tables, seam):
    """The real ingest and points handlers over the real adapters on moto (no back-off sleeps)."""
    programme = default_programme()
    customers, transactions = DynamoCustomerStore(), DynamoTransactionStore()
    publisher = EventBridgePublisher(aws_tables.event_bus_name, aws_tables.event_source, sleep=lambda _: None)
    ingest = IngestService(
        customers, transactions, publisher, programme, sleep=lambda _: None, now=lambda: FIXED_NOW
    )
    points = PointsService(customers, transactions, programme, now=lambda: FIXED_NOW)
    use_services(deps.Services(programme, ingest, points))

    def call(method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        function = "ingest" if path == "/v1/transactions" else "points"
        params = {"customer_id": path.split("/")[3]} if function == "points" else None
        resource = "/v1/customers/{customer_id}" if params else path
        data = json.dumps(body).encode() if body is not None else None
        event = proxy_event(method, path, resource, params, {"content-type": "application/json"}, "", data)
        result = load_handler(function)(event, LocalContext(function))
        return result["statusCode"], json.loads(result["body"])

    yield call
    use_services(None)


def balance(api, customer: str = "C1") -> int:  # type: ignore[no-untyped-def]
    status, card = api("GET", f"/v1/customers/{customer}")
    assert status == 200, card
    return card["points_balance"]


def upgrade_id(customer: str, transaction_id: str, period: str = "2026-03") -> str:
    return event_id(customer, period, "tier", transaction_id)


# -- DynamoDB throttling ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttled_getitem_on_a_purchase_is_retried_and_counts_once(api, seam, code):
    assert api("POST", "/v1/transactions", purchase_body("T1", amount="10.00"))[0] == 201
    seam.queue("GetItem", throttle("GetItem", code), throttle("GetItem", code))
    status, answer = api("POST", "/v1/transactions", purchase_body("T2", amount="25.00"))
    assert status == 201, answer
    assert answer["points_balance"] == 35
    assert balance(api) == 35
    assert seam.calls["TransactWriteItems"] == 2  # one per purchase: nothing written twice


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttled_transact_write_is_retried_and_counts_once(api, seam, code):
    seam.queue(
        "TransactWriteItems", throttle("TransactWriteItems", code), throttle("TransactWriteItems", code)
    )
    status, answer = api("POST", "/v1/transactions", purchase_body("T1", amount="30.00"))
    assert status == 201, answer
    assert answer["points_balance"] == 30
    assert seam.calls["TransactWriteItems"] == 3
    # The store's id replayed after the throttles still counts once.
    assert api("POST", "/v1/transactions", purchase_body("T1", amount="30.00")) == (201, answer)
    assert balance(api) == 30


def test_a_balance_read_that_stays_throttled_is_a_retryable_503_not_a_500(api, seam):
    assert api("POST", "/v1/transactions", purchase_body("T1", amount="10.00"))[0] == 201
    seam.queue("GetItem", throttle("GetItem"))
    status, answer = api("GET", "/v1/customers/C1")
    assert status == 503, answer
    assert answer["error"]["code"] == "throttled"
    assert balance(api) == 10


def test_a_purchase_that_stays_throttled_is_a_503_and_writes_nothing(api, seam):
    seam.queue("TransactWriteItems", *[throttle("TransactWriteItems")] * 40)
    status, answer = api("POST", "/v1/transactions", purchase_body("T1", amount="10.00"))
    assert status == 503, answer
    seam.plan.clear()
    assert api("GET", "/v1/customers/C1")[0] == 404  # nothing partial
    assert api("POST", "/v1/transactions", purchase_body("T1", amount="10.00"))[0] == 201
    assert balance(api) == 10


# -- transaction conflicts ---------------------------------------------------------------------------


def test_transaction_conflict_on_a_purchase_is_retried_and_counts_once(api, seam):
    assert api("POST", "/v1/transactions", purchase_body("T1", amount="10.00"))[0] == 201
    seam.queue("TransactWriteItems", conflict(), conflict(), conflict())
    status, answer = api("POST", "/v1/transactions", purchase_body("T2", amount="20.00"))
    assert status == 201, answer
    assert answer["points_balance"] == 30
    assert balance(api) == 30


def test_transaction_conflict_on_a_return_takes_back_the_points_once(api, seam):
    assert api("POST", "/v1/transactions", purchase_body("T1", amount="40.00"))[0] == 201
    seam.queue("TransactWriteItems", conflict(), conflict())
    status, answer = api(
        "POST", "/v1/transactions", purchase_body("R1", amount="15.00", original_transaction_id="T1")
    )
    assert status == 201, answer
    assert answer["points_earned"] == -15 and answer["points_balance"] == 25
    # The rest of the purchase can still be returned, exactly once.
    status, answer = api(
        "POST", "/v1/transactions", purchase_body("R2", amount="25.00", original_transaction_id="T1")
    )
    assert (status, answer["points_balance"]) == (201, 0)
    status, _ = api(
        "POST", "/v1/transactions", purchase_body("R3", amount="0.01", original_transaction_id="T1")
    )
    assert status == 422
    assert balance(api) == 0


def test_a_lost_response_after_the_write_then_the_client_retry_counts_once(api, seam):
    """TransactWriteItems applied, but its answer never came back (a timeout): the request fails, the
    store's retry of the same transaction answers as the first time and counts once."""

    def applied_then_timeout(client: Any, params: dict[str, Any]) -> dict[str, Any]:
        _real_call(client, "TransactWriteItems", params)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    seam.queue("TransactWriteItems", applied_then_timeout)
    status, _ = api("POST", "/v1/transactions", purchase_body("T1", amount="700.00"))
    assert status >= 500  # the store systems retry a 5xx with the same transaction_id
    status, answer = api("POST", "/v1/transactions", purchase_body("T1", amount="700.00"))
    assert status == 201 and answer["points_balance"] == 700 and answer["tier"] == "gold"
    assert balance(api) == 700
    # The upgrade event lost with the first answer goes out with the replay.
    assert seam.delivered_ids()[upgrade_id("C1", "T1")] >= 1


# -- EventBridge partial failures ------------------------------------------------------------------


def test_put_events_partial_failure_resends_only_the_failed_entries(aws_tables, seam):
    publisher = EventBridgePublisher(aws_tables.event_bus_name, aws_tables.event_source, sleep=lambda _: None)
    events = [
        DomainEvent(DetailType.CUSTOMER_SEGMENT_CHANGED, event_id(f"C{n}", "2026-03", "segment"), {"n": n})
        for n in range(23)
    ]
    # First batch: entries 1, 4 and 9 fail, then entry 4 fails again; second batch: all fail once.
    seam.queue(
        "PutEvents",
        seam.partial_failure({1, 4, 9}),
        seam.partial_failure({1}),  # the resend holds 3 entries: position 1 is event 4
        None,
        seam.partial_failure(set(range(10))),
        None,
    )
    publisher.publish(events)
    sizes = [len(r) for r in seam.put_events_requests]
    assert sizes == [10, 3, 1, 10, 10, 3]
    resent = [json.loads(e["Detail"])["n"] for e in seam.put_events_requests[1]]
    assert resent == [1, 4, 9]
    assert [json.loads(e["Detail"])["n"] for e in seam.put_events_requests[2]] == [4]
    delivered = seam.delivered_ids()
    assert set(delivered) == {e.event_id for e in events}
    assert set(delivered.values()) == {1}  # only failed entries were resent: no duplicates at all


def test_an_upgrade_event_whose_put_events_partly_fails_is_delivered(api, seam):
    seam.queue("PutEvents", seam.partial_failure({0}), seam.partial_failure({0}))
    status, answer = api("POST", "/v1/transactions", purchase_body("T1", amount="260.00"))
    assert status == 201 and answer["tier_upgrade"] == {"from": "member", "to": "silver"}
    assert seam.delivered_ids() == Counter({upgrade_id("C1", "T1"): 1})
    assert seam.calls["PutEvents"] == 3
    assert balance(api) == 260


def test_put_events_failing_past_its_retries_then_the_client_retry_delivers_and_counts_once(api, seam):
    seam.queue("PutEvents", *[seam.partial_failure({0})] * 6)
    status, answer = api("POST", "/v1/transactions", purchase_body("T1", amount="260.00"))
    assert status >= 500, answer  # the purchase is stored; its event is not out yet
    assert seam.delivered_ids() == Counter()
    status, answer = api("POST", "/v1/transactions", purchase_body("T1", amount="260.00"))
    assert status == 201 and answer["points_balance"] == 260
    assert seam.delivered_ids() == Counter({upgrade_id("C1", "T1"): 1})
    assert balance(api) == 260
