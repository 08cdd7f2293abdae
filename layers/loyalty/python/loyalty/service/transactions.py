"""One transaction, whichever way it arrives (POST /v1/transactions or `loyalty import`): its
validation, the answer, the stored record and its content hash. Pure: the callers read and write
through the ports (service/ingest.py one at a time, the importer a customer's chunk at a time)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from loyalty.domain.content_hash import content_hash
from loyalty.domain.dates import iso_utc
from loyalty.domain.earning import (
    Purchase,
    Return,
    ReturnExceedsPurchase,
    apply_purchase,
    apply_return,
)
from loyalty.domain.members import is_blocked
from loyalty.domain.profile import Profile, new_profile
from loyalty.errors import ApiError, all_of, field_error
from loyalty.money import AmountError, format_amount, parse_amount
from loyalty.ports import ReturnedUpdate, StoredTransaction, purchase_record
from loyalty.programme import Programme
from loyalty.service.earning_rules import purchase_rules, return_rules, with_referral, within_window

MAX_FUTURE_SKEW = timedelta(hours=24)  # tills with a wrong clock, not transactions from next week
CHANNELS = ("store", "web", "app")


@dataclass(frozen=True)
class TransactionRequest:
    """A transaction as received (the API has checked types and shapes; the importer has parsed a row)."""

    transaction_id: str
    customer_id: str
    store_id: str
    channel: str
    occurred_at: datetime
    currency: str
    amount: str
    lines: list[Mapping[str, Any]] = field(default_factory=list)
    original_transaction_id: str | None = None
    raw: Mapping[str, Any] = field(
        default_factory=dict
    )  # the body as sent (answers stored before the content hash)
    referral_code: str | None = None  # a referee's first purchase: the referrer's code

    @property
    def kind(self) -> str:
        return "return" if self.original_transaction_id else "purchase"


@dataclass(frozen=True)
class Transaction:
    """A validated request: the amount and the spend per category in minor units."""

    request: TransactionRequest
    amount: int
    categories: dict[str, int]
    lines: tuple[tuple[str | None, str, int], ...] = ()  # (sku, category, gross minor units) per line

    @property
    def content_hash(self) -> str:
        """What makes two arrivals of one id the same transaction: the content it is stored with (the
        instant, not the offset it was written with), so an imported row and the till's POST agree."""
        r = self.request
        content = [
            r.customer_id, r.kind, iso_utc(r.occurred_at), r.currency, self.amount, r.original_transaction_id,
            r.store_id, r.channel, sorted(self.categories.items()),
        ]  # fmt: skip
        if r.referral_code:  # only then: the hashes of every other transaction stay as they were
            content.append(r.referral_code)
        return content_hash(content)


def body_hash(body: Mapping[str, Any]) -> str:
    """The hash the API stored before the content hash (the body as sent): still accepted on a replay."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def same_content(stored: StoredTransaction, txn: Transaction, *earlier_hashes: str) -> bool:
    return stored.body_hash in (txn.content_hash, *earlier_hashes)


def conflict_error() -> ApiError:
    return ApiError(
        409,
        "transaction_conflict",
        "transaction_id: already used for a different transaction",
        [{"field": "transaction_id", "message": "already used with other content"}],
    )


def erased_error() -> ApiError:
    return ApiError(
        409,
        "customer_erased",
        "customer_id: this customer is being erased; nothing was recorded",
        [{"field": "customer_id", "message": "is being erased"}],
    )


def instant_problem(
    name: str, when: datetime, now: datetime, max_age_days: int | None, older: str = ""
) -> ApiError | None:
    """The one rule for a caller's instant (transactions, interactions, enrolments): at most 24 hours
    ahead (a till's wrong clock), and, with `max_age_days`, no older than that (`older` says where
    older data goes)."""
    if when - now > MAX_FUTURE_SKEW:
        return field_error(name, "is more than 24 hours in the future", 422)
    if max_age_days is not None and now - when > timedelta(days=max_age_days):
        return field_error(
            name, f"is more than {max_age_days} days ago (the programme's earning.max_age_days){older}", 422
        )
    return None


def validate(
    request: TransactionRequest, programme: Programme, now: datetime, *, history: bool = False
) -> Transaction:
    """The business checks of a well-formed transaction, all at once. `history` (the importer) lifts
    the programme's max_age_days: older history is what `loyalty import` is for."""
    problems: list[ApiError] = []
    when = request.occurred_at
    if when.tzinfo is None or when.utcoffset() is None:
        problems.append(
            field_error("occurred_at", "needs a UTC offset, for example 2026-03-01T10:15:00+01:00")
        )
    else:
        max_age = None if history else programme.max_age_days
        late = instant_problem(
            "occurred_at", when, now, max_age, "; older history goes through `loyalty import`"
        )
        if late is not None:
            problems.append(late)
    if request.currency != programme.currency:
        problems.append(field_error("currency", f"the programme runs in {programme.currency}", 422))
    if request.original_transaction_id == request.transaction_id:
        problems.append(
            field_error("original_transaction_id", "cannot be the return's own transaction_id", 422)
        )
    if request.channel not in CHANNELS:
        problems.append(field_error("channel", f"{request.channel!r} is not one of {', '.join(CHANNELS)}"))
    amount = 0
    try:
        amount = parse_amount(request.amount, request.currency)
    except AmountError as exc:
        problems.append(field_error("amount", str(exc)))
    prices: list[int] = []
    for index, line in enumerate(request.lines):
        try:
            prices.append(parse_amount(line["unit_price"], request.currency, allow_zero=True))
        except AmountError as exc:
            problems.append(field_error(f"lines[{index}].unit_price", str(exc)))
    if problems:
        raise all_of(problems)
    lines = tuple(
        (line.get("sku"), line.get("category") or "uncategorised", price * int(line["quantity"]))
        for line, price in zip(request.lines, prices, strict=True)
    )
    return Transaction(request, amount, _categories(request, prices, amount), lines)


def _categories(request: TransactionRequest, prices: list[int], amount: int) -> dict[str, int]:
    """Spend per category from the lines, scaled to the amount paid (discounts included)."""
    totals: dict[str, int] = {}
    for line, price in zip(request.lines, prices, strict=True):
        category = line.get("category") or "uncategorised"
        totals[category] = totals.get(category, 0) + price * int(line["quantity"])
    gross = sum(totals.values())
    if gross <= 0:
        return {}
    shares = {k: v * amount // gross for k, v in totals.items()}
    largest = max(totals, key=lambda k: (totals[k], k))
    shares[largest] += amount - sum(shares.values())
    return {k: v for k, v in shares.items() if v > 0}


@dataclass(frozen=True)
class Applied:
    """A transaction applied to a profile: what to write, and what to answer."""

    profile: Profile  # the profile after it
    stored: StoredTransaction  # the record to store, its answer included
    answer: dict[str, Any]
    original: StoredTransaction | None = None  # a return's purchase, its `returned` moved
    returned: ReturnedUpdate | None = None  # that move, conditioned on the value read
    rule_usage: Mapping[str, int] = field(default_factory=dict)  # bonus of capped rules, for the counter


def tier_change_of(answer: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(from, to, upgrade|downgrade) when the transaction that gave this answer moved the tier."""
    for key, direction in (("tier_upgrade", "upgrade"), ("tier_downgrade", "downgrade")):
        change = answer.get(key)
        if change:
            return change["from"], change["to"], direction
    return None


def apply(
    profile: Profile | None,
    txn: Transaction,
    programme: Programme,
    original: StoredTransaction | None = None,
    now: datetime | None = None,
    cap_used: Mapping[str, int] | None = None,
    referral_points: int = 0,
) -> Applied:
    """Apply a purchase, or a return of `original`, to the profile (None: a new customer). Raises
    ApiError (the return checks, an erased customer) when the transaction cannot be recorded. `now`
    decides which points are still pending (None, history: the transaction's own day). `cap_used`: the
    bonus each capped earning rule already gave the customer in the purchase's month."""
    request = txn.request
    today = None if now is None else now.astimezone(programme.zone).date()
    if request.kind == "purchase":
        if profile is not None and profile.erased:
            raise erased_error()
        current = profile or new_profile(request.customer_id, programme.base_tier.name)
        purchase = Purchase(
            request.transaction_id, request.customer_id, request.occurred_at, txn.amount, txn.categories
        )
        blocked = is_blocked(profile)
        # A blocked member's purchase is recorded (a till never fails a sale) at a rate of 0 points, so
        # its returns take nothing back either.
        earning = replace(programme, points_per_unit=0) if blocked else programme
        rules = with_referral(purchase_rules(current, txn, earning, cap_used), referral_points)
        updated, outcome = apply_purchase(current, purchase, earning, today, rules.bonus)
        answer = _answer(txn, outcome.points_earned, outcome.points_balance, updated.tier)
        answer["points_pending"] = outcome.points_pending
        if programme.earning_rules or referral_points:
            answer["points_breakdown"] = rules.view(outcome.points_earned)
        if outcome.upgraded:
            answer["tier_upgrade"] = {"from": outcome.tier_before, "to": outcome.tier}
        if blocked:
            answer["points_withheld"] = {"reason": "member_blocked"}
        stored = _stored(txn, txn.categories, outcome.points_rate, outcome.points_earned, answer)
        stored = replace(stored, points_breakdown=rules.stored())
        return Applied(updated, stored, answer, rule_usage=rules.usage)
    _check_return(profile, txn, original)
    assert profile is not None and original is not None
    categories = txn.categories if request.lines else {}
    ret = Return(
        request.transaction_id,
        request.customer_id,
        request.occurred_at,
        txn.amount,
        original.transaction_id,
        categories,
    )
    taken = return_rules(original, txn, categories, within_window(original, request.occurred_at, programme))
    try:
        updated, new_record, outcome = apply_return(
            profile, ret, purchase_record(original), programme, _upgrade_of(original), today, taken.bonus
        )
    except ReturnExceedsPurchase as exc:
        left = format_amount(exc.remaining, request.currency)
        raise ApiError(
            422,
            "return_exceeds_purchase",
            f"amount: exceeds what is left of the original purchase ({left})",
            [{"field": "amount", "message": f"at most {left} can still be returned"}],
        ) from exc
    answer = _answer(txn, outcome.points_earned, outcome.points_balance, updated.tier)
    answer["points_pending"] = outcome.points_pending
    answer["original_transaction_id"] = original.transaction_id
    if original.points_breakdown:
        answer["points_breakdown"] = taken.view(outcome.points_earned)
    if outcome.tier != outcome.tier_before:
        answer["tier_downgrade"] = {"from": outcome.tier_before, "to": outcome.tier}
    stored = _stored(txn, categories, outcome.points_rate, outcome.points_earned, answer)
    move = ReturnedUpdate(
        original.transaction_id, original.returned, new_record.returned, taken.returned_categories
    )
    moved = replace(
        original,
        returned=new_record.returned,
        returned_categories=taken.returned_categories or original.returned_categories,
    )
    return Applied(updated, stored, answer, moved, move)


def _check_return(profile: Profile | None, txn: Transaction, original: StoredTransaction | None) -> None:
    request = txn.request
    if original is None or original.customer_id != request.customer_id:
        raise field_error("original_transaction_id", "no purchase with this id for this customer", 422)
    if original.kind != "purchase":
        raise field_error("original_transaction_id", "refers to a return, not a purchase", 422)
    if original.currency != request.currency:
        raise field_error("currency", f"differs from the original purchase ({original.currency})", 422)
    if datetime.fromisoformat(original.occurred_at) > request.occurred_at:
        raise field_error("occurred_at", f"is before the purchase it returns ({original.occurred_at})", 422)
    if profile is not None and profile.erased:
        raise erased_error()
    if profile is None:
        raise field_error("customer_id", "unknown customer", 404)


def _upgrade_of(purchase: StoredTransaction) -> tuple[str, str] | None:
    """The (from, to) tier upgrade a stored purchase made, as its answer recorded it."""
    change = purchase.response.get("tier_upgrade")
    return (change["from"], change["to"]) if change else None


def _answer(txn: Transaction, points: int, balance: int, tier: str) -> dict[str, Any]:
    request = txn.request
    return {
        "transaction_id": request.transaction_id,
        "customer_id": request.customer_id,
        "type": request.kind,
        "amount": format_amount(txn.amount, request.currency),
        "currency": request.currency,
        "points_earned": points,
        "points_balance": balance,
        "tier": tier,
    }


def _stored(
    txn: Transaction, categories: Mapping[str, int], rate: int, points: int, answer: dict[str, Any]
) -> StoredTransaction:
    request = txn.request
    return StoredTransaction(
        transaction_id=request.transaction_id,
        customer_id=request.customer_id,
        kind=request.kind,
        occurred_at=request.occurred_at.isoformat(),
        occurred_key=f"{iso_utc(request.occurred_at)}#{request.transaction_id}",
        currency=request.currency,
        amount=txn.amount,
        body_hash=txn.content_hash,
        store_id=request.store_id,
        channel=request.channel,
        points_rate=rate,
        points_earned=points,
        categories=dict(categories),
        original_transaction_id=request.original_transaction_id,
        response=dict(answer),
    )
