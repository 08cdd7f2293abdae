"""Request and response models: they validate the API and generate its OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/\-]{0,127}$"
AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$"
MAX_LINES = 500


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LineIn(Strict):
    sku: str = Field(min_length=1, max_length=64)
    category: str | None = Field(default=None, min_length=1, max_length=32)
    quantity: int = Field(ge=1, le=100_000)
    unit_price: str = Field(pattern=AMOUNT_PATTERN, description='Decimal string, e.g. "4.99"')


class TransactionIn(Strict):
    """A purchase, or a return when `original_transaction_id` is given."""

    transaction_id: str = Field(pattern=ID_PATTERN, description="The store's unique id; retries reuse it")
    customer_id: str = Field(pattern=ID_PATTERN, description="Loyalty card number")
    store_id: str = Field(pattern=ID_PATTERN)
    channel: Literal["store", "web", "app"]
    occurred_at: AwareDatetime = Field(description="ISO 8601 with offset, e.g. 2026-03-01T10:15:00+01:00")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount: str = Field(pattern=AMOUNT_PATTERN, description='Decimal string, e.g. "42.50"')
    lines: list[LineIn] | None = Field(default=None, max_length=MAX_LINES)
    original_transaction_id: str | None = Field(default=None, pattern=ID_PATTERN)


class TierUpgrade(BaseModel):
    from_: str = Field(alias="from")
    to: str


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
    original_transaction_id: str | None = None


class RfmOut(BaseModel):
    r: int
    f: int
    m: int


class ExpiryOut(BaseModel):
    points: int
    on: str


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
    points_expiring: ExpiryOut | None


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


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
