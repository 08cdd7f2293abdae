"""Request and response models: they validate the API and generate its OpenAPI document.

Every bound the code enforces is in the schema (patterns, lengths, ranges), and every pattern has its
meaning in words in PATTERN_WORDS: the API's messages say what is expected, never the regex."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from loyalty.domain.members import (
    CONSENT_SOURCES,
    ENROLMENT_CHANNELS,
    INTERACTION_CHANNELS,
    INTERACTION_KINDS,
    MAX_CONTACTS_PER_MONTH,
    MAX_PREFERRED_CATEGORIES,
    STATUSES,
)
from loyalty.service.erasure import TOKEN_PREFIX
from loyalty.service.transactions import CHANNELS

# No "/": an id must fit in one path segment to be read, redeemed and erased by its URL.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$"
ID_MAX = 128
AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$"
# Greater than zero, spelled out without look-ahead (JSON Schema generators do not all support it).
POSITIVE_AMOUNT_PATTERN = (
    r"^([1-9][0-9]{0,11}(\.[0-9]{1,4})?|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
)
CURRENCY_PATTERN = r"^[A-Z]{3}$"
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"  # no NUL, no control characters
MAX_LINES = 500
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")

ID_WORDS = "1 to 128 letters, digits or . _ : @ -, starting with a letter or digit"
AMOUNT_WORDS = 'a decimal string with a point and at most 4 decimals, e.g. "42.50"'
INSTANT_WORDS = "an ISO 8601 date-time string with a UTC offset, e.g. 2026-03-01T10:15:00+01:00"
PATTERN_WORDS = {
    ID_PATTERN: ID_WORDS,
    AMOUNT_PATTERN: AMOUNT_WORDS,
    POSITIVE_AMOUNT_PATTERN: AMOUNT_WORDS.replace("a decimal", "a positive decimal"),
    CURRENCY_PATTERN: "three capital letters (ISO 4217), e.g. EUR",
    TEXT_PATTERN: "text without NUL or control characters",
}


def _instant(value: object) -> datetime:
    """occurred_at: a string in ISO 8601 with its offset; no Unix numbers, no naive or date-only forms."""
    if not isinstance(value, str) or not _INSTANT.match(value):
        raise ValueError(f"must be {INSTANT_WORDS}")
    try:
        instant = datetime.fromisoformat(value)
        instant.astimezone(UTC)  # year 1 or 9999 with an offset overflows: not a real instant
    except (ValueError, OverflowError):
        raise ValueError(f"is not a real date and time; must be {INSTANT_WORDS}") from None
    return instant


def _not_reserved(value: str) -> str:
    # The erased customers' anonymous profiles live under this prefix: no caller may name one.
    if value.startswith(TOKEN_PREFIX):
        raise ValueError(f"must not start with {TOKEN_PREFIX!r} (reserved)")
    return value


Instant = Annotated[datetime, BeforeValidator(_instant)]
CUSTOMER_ID_WORDS = f"Loyalty card number: {ID_WORDS}; not starting with {TOKEN_PREFIX!r} (reserved)"
CustomerIdStr = Annotated[
    str,
    Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX, description=CUSTOMER_ID_WORDS),
    AfterValidator(_not_reserved),
]
# The same, as a path parameter.
CustomerId = Annotated[
    str,
    Path(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX, description=CUSTOMER_ID_WORDS),
    AfterValidator(_not_reserved),
]


def id_field(description: str, **kw: object) -> object:
    return Field(
        pattern=ID_PATTERN, min_length=1, max_length=ID_MAX, description=f"{description}: {ID_WORDS}", **kw
    )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LineIn(Strict):
    sku: str = Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)
    category: str | None = Field(default=None, min_length=1, max_length=32, pattern=TEXT_PATTERN)
    quantity: StrictInt = Field(ge=1, le=100_000, description="A whole number (not a string, not 1.0)")
    unit_price: str = Field(pattern=AMOUNT_PATTERN, description=f"{AMOUNT_WORDS}; zero for a free item")


class TransactionIn(Strict):
    """A purchase, or a return when `original_transaction_id` is given."""

    transaction_id: str = id_field("The store's unique id; retries reuse it")  # type: ignore[assignment]
    customer_id: CustomerIdStr
    store_id: str = id_field("The store")  # type: ignore[assignment]
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    occurred_at: Instant = Field(
        description=f"{INSTANT_WORDS}; at most 24 hours ahead and not older than the programme's "
        "earning.max_age_days (default 730; older history goes through `loyalty import`). A return "
        "is not dated before its purchase."
    )
    currency: str = Field(pattern=CURRENCY_PATTERN, description="The programme's currency (ISO 4217)")
    amount: str = Field(
        pattern=POSITIVE_AMOUNT_PATTERN,
        description=f"Greater than zero: {AMOUNT_WORDS}, with no more decimals than the currency has",
    )
    lines: list[LineIn] | None = Field(default=None, max_length=MAX_LINES)
    original_transaction_id: str | None = id_field(  # type: ignore[assignment]
        "For a return: the purchase it returns", default=None
    )
    referral_code: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z]{4,16}$",
        description="A referee's first purchase: the referrer's code (POST "
        "/v1/customers/{id}/referral-code). Never refuses the purchase: the answer's `referral` says "
        "whether both were rewarded, or why not.",
    )


class TierUpgrade(BaseModel):
    from_: str = Field(alias="from")
    to: str


class RulePointsOut(BaseModel):
    rule: str = Field(description='"base", or the name of an earning rule')
    points: int


class TransactionOut(BaseModel):
    transaction_id: str
    customer_id: str
    type: Literal["purchase", "return"]
    amount: str
    currency: str
    points_earned: int = Field(description="Negative for a return: the points taken back")
    points_balance: int
    tier: str
    tier_upgrade: TierUpgrade | None = None
    tier_downgrade: TierUpgrade | None = Field(
        default=None, description="A return that undid the purchase which upgraded the customer reverses it"
    )
    original_transaction_id: str | None = None
    points_withheld: dict[str, str] | None = Field(
        default=None, description='A blocked member\'s purchase: {"reason": "member_blocked"}, 0 points'
    )
    points_pending: int | None = Field(
        default=None, description="Of points_earned, how many are pending (the return window)"
    )
    points_breakdown: list[RulePointsOut] | None = Field(
        default=None,
        description="With earning rules: base first, then each rule that gave (or a return took back) "
        "points, summing to points_earned (docs/rules-and-rewards.md)",
    )
    referral: dict[str, Any] | None = Field(
        default=None,
        description='With referral_code: {"status": "rewarded", "referrer_id", "referee_points", '
        '"referrer_points"} or {"status": "refused", "reason"}',
    )
    tier_reward: dict[str, Any] | None = Field(
        default=None,
        description="The voucher the tier entered at this purchase gives (as in the vouchers list)",
    )


# ---------------------------------------------------------------------------------------------
# Members: enrolment, consents and preferences, status, interactions

CATEGORY_FIELD = Field(min_length=1, max_length=32, pattern=TEXT_PATTERN)


class ConsentsIn(Strict):
    """Per channel, whether the member agreed to be contacted; a channel left out is not changed (or,
    at enrolment, is no)."""

    email: StrictBool | None = None
    sms: StrictBool | None = None
    push: StrictBool | None = None


class PreferencesIn(Strict):
    categories: list[Annotated[str, CATEGORY_FIELD]] | None = Field(
        default=None, max_length=MAX_PREFERRED_CATEGORIES, description="Preferred product categories"
    )
    max_contacts_per_month: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_CONTACTS_PER_MONTH,
        description="At most this many customer events a month are marked contactable; null: no limit",
    )


class EnrolmentIn(Strict):
    customer_id: CustomerIdStr
    enrolled_at: Instant = Field(description=f"{INSTANT_WORDS}; at most 24 hours ahead")
    store_id: str | None = id_field("The store of a store enrolment", default=None)  # type: ignore[assignment]
    channel: Literal[ENROLMENT_CHANNELS] | None = Field(  # type: ignore[valid-type]
        default=None, description="Where the member enrolled; store when only store_id is given"
    )
    consents: ConsentsIn
    preferences: PreferencesIn | None = None


class MemberPatchIn(Strict):
    consents: ConsentsIn | None = None
    source: Literal[CONSENT_SOURCES] | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Where the consent change was made (required with consents; back_office needs the "
        "back-office key): kept with the change as proof",
    )
    preferences: PreferencesIn | None = None
    status: Literal[STATUSES] | None = Field(  # type: ignore[valid-type]
        default=None, description="active or blocked: the back-office (admin) key only, 403 otherwise"
    )


class InteractionIn(Strict):
    interaction_id: str = id_field("The caller's unique id; retries reuse it")  # type: ignore[assignment]
    kind: Literal[INTERACTION_KINDS]  # type: ignore[valid-type]
    occurred_at: Instant = Field(
        description=f"{INSTANT_WORDS}; at most 24 hours ahead and not older than earning.max_age_days"
    )
    channel: Literal[INTERACTION_CHANNELS]  # type: ignore[valid-type]


class ConsentsOut(BaseModel):
    email: bool
    sms: bool
    push: bool


class PreferencesOut(BaseModel):
    categories: list[str]
    max_contacts_per_month: int | None


class EnrolmentOut(BaseModel):
    customer_id: str
    enrolled: bool
    enrolled_at: str
    store_id: str | None
    channel: str
    consents: ConsentsOut
    preferences: PreferencesOut


class MemberOut(BaseModel):
    customer_id: str
    enrolled: bool
    enrolled_at: str | None
    status: str
    consents: ConsentsOut
    preferences: PreferencesOut
    last_interaction_at: str | None


class ConsentChangeOut(BaseModel):
    at: str
    source: str
    consents: ConsentsOut


class ConsentHistoryOut(BaseModel):
    customer_id: str
    consents: ConsentsOut
    history: list[ConsentChangeOut] = Field(description="The last 20 changes, oldest first")


class InteractionOut(BaseModel):
    interaction_id: str
    customer_id: str
    kind: str
    occurred_at: str
    channel: str
    points_earned: int


class RfmOut(BaseModel):
    r: int
    f: int
    m: int


class ExpiryOut(BaseModel):
    points: int
    expires_on: str = Field(description="The last day these points can be spent (programme time zone)")


class ReleaseOut(BaseModel):
    points: int
    available_on: str = Field(description="The first day these pending points can be spent")


class CustomerOut(BaseModel):
    customer_id: str
    points_balance: int
    tier: str
    tier_since: str | None
    next_tier: str | None
    to_next_tier: dict[str, str | int] | None
    segment: str | None
    rfm: RfmOut | None
    favourite_category: str | None
    classified_period: str | None
    p_alive: str | None = None  # BG/NBD at the last monthly run (decimal string)
    expected_purchases_90d: str | None = None
    currency: str
    spend_12m: str
    visits_12m: int
    points_12m: int
    first_purchase_at: str | None
    last_purchase_at: str | None
    enrolled: bool = False
    enrolled_at: str | None = None
    status: Literal[STATUSES] = "active"  # type: ignore[valid-type]
    consents: ConsentsOut | None = None
    preferences: PreferencesOut | None = None
    last_interaction_at: str | None = None
    points_expiring: list[ExpiryOut] = Field(description="The next expiry dates, soonest first, at most 3")
    points_pending: int = Field(default=0, description="Points in the return window, not yet spendable")
    pending_release: list[ReleaseOut] = Field(default_factory=list, description="Soonest first")


class HistoryItemOut(BaseModel):
    transaction_id: str
    type: Literal["purchase", "return"]
    occurred_at: str
    amount: str
    currency: str
    points_earned: int
    store_id: str | None
    channel: str | None
    returned_amount: str | None = None
    original_transaction_id: str | None = None


class HistoryOut(BaseModel):
    items: list[HistoryItemOut]
    next_cursor: str | None


class LedgerEntryOut(BaseModel):
    kind: Literal["earned", "returned", "released", "redeemed", "expired", "adjusted"]
    points: int
    balance_after: int
    at: str
    transaction_id: str | None = None
    redemption_id: str | None = None
    adjustment_id: str | None = None
    period: str | None = None
    available_on: str | None = None


class LedgerOut(BaseModel):
    items: list[LedgerEntryOut]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
