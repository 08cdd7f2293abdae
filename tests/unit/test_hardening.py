"""Pure pieces of the hardening (issue 11): the strict body parser, cancellation reasons read by item,
the reversal of an upgrade by the return that undid it."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from loyalty.adapters.dynamo_errors import Labelled
from loyalty.api.body import BodyError, parse_body
from loyalty.domain.earning import Purchase, PurchaseRecord, Return, apply_purchase, apply_return
from loyalty.domain.profile import new_profile

from tests.helpers import default_programme


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"a": 1, "a": 2}', "appears twice"),
        ('{"a": ' + "9" * 40 + "}", "digits"),
        ('{"a": NaN}', "not a JSON number"),
        ("[" * 30_000, "nested too deeply"),
        ("{", "not valid JSON"),
    ],
)
def test_the_body_parser_refuses_what_the_standard_one_lets_through_or_crashes_on(text, why):
    with pytest.raises(BodyError, match=why):
        parse_body(text)


def test_the_body_parser_keeps_ordinary_json():
    assert parse_body('{"a": [1, 2.5, "x"], "b": {"c": null}}') == {"a": [1, 2.5, "x"], "b": {"c": None}}


@dataclass
class _Reason:
    code: str | None


class _Cancelled(Exception):
    def __init__(self, codes):
        self.cancellation_reasons = [_Reason(c) if c else None for c in codes]


class _Recorder:
    def save(self, *a, **k): ...
    def delete(self, *a, **k): ...
    def update(self, *a, **k): ...


def test_cancellation_reasons_are_read_by_item_in_pynamodbs_order():
    tx = Labelled(_Recorder())  # type: ignore[arg-type]
    tx.save("anonymous", None)
    tx.delete("profile", None)
    tx.update("erasure", None, [])
    # DynamoDB answers in request order, and pynamodb sends deletes, then puts, then updates.
    reasons = tx.reasons(_Cancelled(["ConditionalCheckFailed", None, None]))  # type: ignore[arg-type]
    assert reasons == {"profile": "ConditionalCheckFailed"}


def test_pynamodb_still_sends_deletes_then_puts_then_updates():
    """Labelled mirrors pynamodb's order: this fails if a pynamodb upgrade changes it."""
    from loyalty.adapters.models import CustomerItem
    from pynamodb.connection import Connection
    from pynamodb.transactions import TransactWrite

    sent: list = []
    connection = Connection(region="eu-west-1")
    connection.dispatch = lambda operation, kwargs: sent.extend(kwargs["TransactItems"])  # type: ignore[method-assign]
    tw = TransactWrite(connection=connection)
    tw.update(CustomerItem(customer_id="u"), actions=[CustomerItem.tier.set("x")])
    tw.save(CustomerItem(customer_id="p", tier="member"))
    tw.delete(CustomerItem(customer_id="d"))
    tw.condition_check(CustomerItem, "c", condition=CustomerItem.customer_id.exists())
    tw._commit()
    assert [next(iter(item)) for item in sent] == ["ConditionCheck", "Delete", "Put", "Update"]
    assert Labelled.ORDER == ("condition_check", "delete", "put", "update")


def test_a_full_return_of_the_upgrading_purchase_reverses_the_upgrade_and_a_partial_one_may_not():
    programme = default_programme()
    when = datetime(2026, 3, 10, 10, tzinfo=UTC)
    profile, outcome = apply_purchase(
        new_profile("C1", "member"), Purchase("T1", "C1", when, 30_000), programme
    )
    assert (outcome.tier_before, profile.tier) == ("member", "silver")
    record = PurchaseRecord("T1", "C1", when, 30_000, 0, outcome.points_rate)
    upgrade = (outcome.tier_before, outcome.tier)
    later = datetime(2026, 3, 11, 10, tzinfo=UTC)
    kept, _, partial = apply_return(
        profile, Return("R1", "C1", later, 5_000, "T1"), record, programme, upgrade
    )
    assert kept.tier == "silver" and partial.tier == "silver"  # 250.00 still spent: still silver
    reversed_, _, full = apply_return(
        profile, Return("R2", "C1", later, 30_000, "T1"), record, programme, upgrade
    )
    assert (full.tier_before, full.tier, reversed_.tier_since) == ("silver", "member", "2026-03-11")
    untouched, _, _ = apply_return(profile, Return("R3", "C1", later, 30_000, "T1"), record, programme, None)
    assert untouched.tier == "silver"  # a purchase that upgraded nobody reverses nothing
