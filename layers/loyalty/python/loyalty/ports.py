"""Ports: what the services need from AWS, as small protocols with in-memory fakes (fakes.py)
and real adapters (adapters/*_store.py, adapters/eventbridge.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from loyalty.domain.earning import PurchaseRecord
from loyalty.domain.ledger import LedgerEntry
from loyalty.domain.profile import Profile
from loyalty.errors import (  # the port exceptions live with the other refusals; imported from here too
    DuplicateAdjustment,
    DuplicateInteraction,
    DuplicateRedemption,
    DuplicateTransaction,
    ProfileKeyTaken,
    PublishFailed,
    RunAlreadyStarted,
    Throttled,
    VersionConflict,
    VoucherNotUsable,
)
from loyalty.events import DomainEvent, event_id

__all__ = [
    "DuplicateAdjustment", "DuplicateInteraction", "DuplicateRedemption", "DuplicateTransaction",
    "ProfileKeyTaken", "PublishFailed", "RunAlreadyStarted",
    "Throttled", "VersionConflict", "VoucherNotUsable",
]  # fmt: skip


@dataclass(frozen=True)
class StoredTransaction:
    transaction_id: str
    customer_id: str
    kind: str  # purchase | return
    occurred_at: str  # ISO 8601 with the offset it was sent with
    occurred_key: str  # UTC instant + "#" + id: the history sort key
    currency: str
    amount: int
    body_hash: str
    store_id: str | None = None
    channel: str | None = None
    returned: int = 0
    points_rate: int = 0
    points_earned: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    original_transaction_id: str | None = None
    response: dict[str, Any] = field(default_factory=dict)
    # Earning rules (domain/earning_rules.py): a purchase's rule points with the spend they are on, and
    # what its returns took per category so far (returns take the rules' points back in proportion).
    points_breakdown: list[dict[str, Any]] = field(default_factory=list)
    returned_categories: dict[str, int] = field(default_factory=dict)


def purchase_record(stored: StoredTransaction) -> PurchaseRecord:
    """What the return rules need of a stored purchase."""
    return PurchaseRecord(
        stored.transaction_id,
        stored.customer_id,
        datetime.fromisoformat(stored.occurred_at),
        stored.amount,
        stored.returned,
        stored.points_rate,
        stored.categories,
    )


@dataclass(frozen=True)
class ReturnedUpdate:
    """Move a purchase's `returned` from `expected` to `new`, only if nobody moved it since."""

    transaction_id: str
    expected: int
    new: int
    categories: dict[str, int] | None = None  # the purchase's new returned_categories (rule points)


@dataclass(frozen=True)
class RuleCounter:
    """Bonus points each capped earning rule gave a customer in one programme month."""

    customer_id: str
    month: str
    counts: dict[str, int] = field(default_factory=dict)
    version: int = 0  # 0: not stored yet

    @property
    def key(self) -> str:
        """Not a caller's redemption_id (those start with a letter or digit), no card number in clear."""
        return f"#cap#{event_id(self.customer_id, self.month, 'rule-cap')}"


@dataclass(frozen=True)
class Referrer:
    """A referrer's code and the referrals that rewarded them (ISO days, the last 12 months)."""

    customer_id: str
    code: str
    rewarded: tuple[str, ...] = ()
    version: int = 0  # 0: not stored yet

    @property
    def key(self) -> str:
        return referrer_key(self.customer_id)


def referrer_key(customer_id: str) -> str:
    return f"#referrer#{event_id(customer_id, 'referrer')}"


def referral_code_key(code: str) -> str:
    return f"#refcode#{code}"


@dataclass(frozen=True)
class OtherProfile:
    """Another customer's points moved by this purchase (a referrer's), written at `expected_version`
    with its ledger entry."""

    profile: Profile
    expected_version: int
    entry: LedgerEntry


@dataclass(frozen=True)
class PurchaseRewards:
    """What a purchase's earning rules and rewards add to its TransactWriteItems: the month's rule
    counter (only at the version read) and reward vouchers (each only if its redemption_id, a key
    derived from what it rewards, is new: docs/rules-and-rewards.md)."""

    counter: RuleCounter | None = None  # the counts after this purchase, version as read
    vouchers: tuple[Voucher, ...] = ()
    referrer: Referrer | None = None  # the referrer's rewarded days after this purchase, version as read
    other: OtherProfile | None = None  # the referrer's profile and ledger entry


@dataclass(frozen=True)
class ChunkWrite:
    """One customer's record_chunk, as one of several written together (record_chunks)."""

    transactions: Sequence[StoredTransaction]
    profile: Profile
    expected_version: int | None
    returned: Sequence[ReturnedUpdate] = ()
    rewards: PurchaseRewards | None = (
        None  # a purchase's rule counter and reward items (never the importer's)
    )

    @property
    def operations(self) -> int:
        """Its items in a TransactWriteItems: each transaction and its ledger entry, each update, the
        profile."""
        return 2 * len(self.transactions) + len(self.returned) + 1


@dataclass(frozen=True)
class HistoryPage:
    items: list[StoredTransaction]
    next_cursor: str | None


class CustomerStore(Protocol):
    def get(self, customer_id: str) -> Profile | None:
        """One strongly consistent GetItem."""
        ...

    def get_profiles(self, customer_ids: Iterable[str]) -> dict[str, Profile]:
        """The profiles among these ids (strongly consistent BatchGetItem, 100 a call), by id."""
        ...


class TransactionStore(Protocol):
    def get(self, transaction_id: str) -> StoredTransaction | None: ...

    def get_with_profile(
        self, transaction_id: str, customer_id: str
    ) -> tuple[StoredTransaction | None, Profile | None]:
        """The original purchase and the profile in one read (for returns)."""
        ...

    def get_many(self, transaction_ids: Iterable[str]) -> dict[str, StoredTransaction]:
        """The stored transactions among these ids (strongly consistent), by id."""
        ...

    def record(
        self,
        transaction: StoredTransaction,
        profile: Profile,
        expected_version: int | None,
        returned: ReturnedUpdate | None = None,
        rewards: PurchaseRewards | None = None,
    ) -> None:
        """record_chunk of one transaction, with what its rules and rewards write (a counter or a
        reward voucher already taken: VersionConflict, re-read and retry)."""
        ...

    def record_chunk(
        self,
        transactions: Sequence[StoredTransaction],
        profile: Profile,
        expected_version: int | None,
        returned: Sequence[ReturnedUpdate] = (),
        rewards: PurchaseRewards | None = None,
    ) -> None:
        """Atomically (one TransactWriteItems, at most 99 items besides the profile: transactions, their
        ledger entries and updates): store one customer's
        transactions (each only if new), move earlier purchases' returned amounts (each only if
        unchanged) and write the profile (only at expected_version, None meaning the profile must not
        exist). Raises DuplicateTransaction (some id is stored), VersionConflict or Throttled."""
        ...

    def record_chunks(self, chunks: Sequence[ChunkWrite]) -> None:
        """Several customers' chunks in one TransactWriteItems (at most 100 items in all), all or
        nothing, each with record_chunk's conditions and items (the importer's writes across
        customers). Raises as record_chunk does, for whichever chunk failed."""
        ...

    def history(self, customer_id: str, limit: int, cursor: str | None) -> HistoryPage: ...


class RewardStore(Protocol):
    """What ingest reads before a purchase that a capped rule or a tier reward concerns."""

    def counter(self, customer_id: str, month: str) -> RuleCounter:
        """The month's counter (version 0 and no counts when none is stored)."""
        ...

    def reward_issued(self, redemption_id: str) -> bool:
        """Whether the reward with this key was already issued."""
        ...

    def referrer_of(self, customer_id: str) -> Referrer | None:
        """The customer's referral code and rewarded referrals (None: no code yet)."""
        ...

    def code_owner(self, code: str) -> str | None:
        """The customer a referral code belongs to."""
        ...

    def create_code(self, referrer: Referrer) -> None:
        """Store a new code for the customer (both items only if new: VersionConflict otherwise)."""
        ...

    def forget_referrals(self, customer_id: str) -> int:
        """Erasure: delete the customer's code and referrer items; how many."""
        ...


# Entries one PutEvents request carries at most. EventBridge's PutEvents quota counts requests (the
# quota's published description: "the maximum number of requests per second for PutEvents API"), so a
# publisher that fills its requests sends up to this many events per unit of the quota.
PUT_EVENTS_MAX_ENTRIES = 10


def put_events_requests(entries: int) -> int:
    """The PutEvents requests a publisher sends for `entries` events (batches of PUT_EVENTS_MAX_ENTRIES)."""
    return -(-entries // PUT_EVENTS_MAX_ENTRIES)


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish all events, resending only failed entries; raises if some never get through."""
        ...


# ---------------------------------------------------------------------------------------------
# The monthly reclassification (loyalty.service.reclassify)


class CustomerScan(Protocol):
    """Streaming access to every customer for the monthly run, one parallel-scan segment at a time."""

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        """The profiles of one scan segment, a page at a time (never the whole segment in memory)."""
        ...

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        """Write the classification fields (segment, rfm, favourite_category, classified_period, tier,
        tier_since, points_balance, points_expired; with `before`, only those that differ from it) only
        if the stored version is still `expected_version`, bumping it. Raises VersionConflict (re-read
        and recompute) otherwise."""
        ...

    def get(self, customer_id: str) -> Profile | None:
        """One strongly consistent read (after a conflict)."""
        ...


class RunStore(Protocol):
    """Small JSON documents of one run (partial statistics and summaries per scan segment), so that
    what travels in the Step Functions state stays a few hundred bytes whatever the segment count."""

    def put(self, key: str, document: dict[str, Any]) -> None: ...

    def get(self, key: str) -> dict[str, Any] | None: ...

    def keys(self, prefix: str) -> list[str]:
        """The keys under a prefix, sorted."""
        ...


@dataclass(frozen=True)
class RunState:
    """Where a started run is: Step Functions' execution status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT,
    ABORTED, PENDING_REDRIVE) and, when it failed, its error name and cause."""

    status: str
    error: str = ""
    cause: str = ""


class ReclassifyRuns(Protocol):
    """Starting the monthly run's state machine (a what-if: its dry-run input) and asking where a run
    is. In AWS, Step Functions (adapters/stepfunctions.py); locally, the same steps in this process
    (adapters/local_runs.py); in tests, fakes.InMemoryRuns."""

    def start(self, name: str, run_input: dict[str, Any]) -> None:
        """Start one run named `name` (the execution name, unique per state machine). Raises
        RunAlreadyStarted when a run of that name exists (a retry, a double click)."""
        ...

    def state(self, name: str) -> RunState | None:
        """The run's state; None for a name never started."""
        ...


class CandidateStore(Protocol):
    """Where a what-if's candidate programme is kept for the run to read (the run bucket's candidates
    prefix: all the points function may write there)."""

    def put(self, digest: str, document: dict[str, Any]) -> str:
        """Store the candidate under its content hash; returns its key in the run bucket."""
        ...


# ---------------------------------------------------------------------------------------------
# Redemptions, vouchers and erasure (loyalty.service.redemptions, loyalty.service.erasure)


@dataclass(frozen=True)
class Voucher:
    code: str
    customer_id: str
    redemption_id: str
    points: int
    value: int  # minor units
    currency: str
    issued_at: str  # UTC ISO instant
    expires_on: str  # last valid day in the programme time zone (YYYY-MM-DD)
    expires_at: str  # UTC ISO instant from which the voucher is no longer valid
    status: str = "issued"  # issued | used | cancelled (expired is derived from expires_at)
    used_at: str | None = None
    use_id: str | None = None  # the till's id for the use that spent it: its retry replays, not 409
    cancelled_at: str | None = None
    balance_after_cancel: int | None = None  # the card's balance right after the cancel gave points back
    kind: str = "value"  # value (worth `value`) | percent (`percent` off, applied by the till)
    percent: int | None = None
    cause: str = "redemption"  # redemption | tier_reward | season

    @property
    def issued_key(self) -> str:
        return f"{self.issued_at}#{self.code}"


@dataclass(frozen=True)
class Redemption:
    redemption_id: str
    customer_id: str
    points: int
    created_at: str  # UTC ISO instant
    voucher_code: str
    response: dict[str, Any] = field(default_factory=dict)  # the first answer, without customer_id


@dataclass(frozen=True)
class VoucherPage:
    items: list[Voucher]
    next_cursor: str | None


@dataclass(frozen=True)
class ErasureRecord:
    token: str
    erased_at: str
    profile_key: str
    erasures: int = 1


class RedemptionStore(Protocol):
    def get_redemption(self, redemption_id: str) -> Redemption | None: ...

    def redeem(
        self,
        redemption: Redemption,
        voucher: Voucher,
        expected_version: int,
        lots: Mapping[str, int] | None = None,
        total_after: int | None = None,
        more_vouchers: Sequence[Voucher] = (),
    ) -> None:
        """(`more_vouchers`: the season's conversion issues one voucher per block, all in this write.)
        Atomically: store the redemption (only if new: DuplicateRedemption), take its points from the
        profile (ADD points_balance -p, points_redeemed +p, version +1, SET lots to `lots` when given,
        only if the version is still `expected_version`, the balance covers it and the profile is not
        erased: VersionConflict) and store the voucher (only if its code is new: VersionConflict,
        retried with a new code). With `total_after` (the stored points_balance after it), the ledger's
        `redeemed` entry goes in the same transaction."""
        ...

    def vouchers(self, customer_id: str, limit: int, cursor: str | None) -> VoucherPage:
        """A customer's vouchers, newest first; ValueError for a cursor this API did not return."""
        ...

    def use_voucher(self, code: str, used_at: str, use_id: str | None = None) -> Voucher:
        """Mark the voucher used (keeping `use_id`) only if it is issued and `used_at` is before it
        expires; otherwise VoucherNotUsable with the stored voucher (or None for an unknown code).
        Throttled when the write conflicts with a transaction on the voucher (a racing cancel): retry."""
        ...

    def get_voucher(self, code: str) -> Voucher | None:
        """One strongly consistent read."""
        ...

    def cancel_voucher(
        self,
        voucher: Voucher,
        cancelled_at: str,
        expected_version: int,
        balance_after: int,
        lots: Mapping[str, int] | None = None,
        total_after: int | None = None,
    ) -> Voucher:
        """Atomically: mark `voucher` cancelled (only if it is still issued, unexpired at `cancelled_at`
        and still this customer's: else VoucherNotUsable, re-read it to know why) and give its points
        back to the profile (ADD points_balance +p, points_redeemed -p, version +1, only at
        `expected_version` and not erased: VersionConflict, re-read and retry). The voucher keeps
        `balance_after` (the balance read at that version + p), so a retry answers as the first time.
        With `total_after` (the stored points_balance after it), the ledger's `redeemed` entry of +p (the
        voucher's points given back) goes in the same transaction."""
        ...


class ErasureStore(Protocol):
    def mark_erased(self, customer_id: str) -> Profile | None:
        """Set erased and bump the version (so concurrent writers re-read); None if no profile."""
        ...

    def erasure(self, token: str) -> ErasureRecord | None: ...

    def anonymise_vouchers(self, customer_id: str, token: str) -> int:
        """Replace customer_id by token on every voucher of the customer and, before each voucher, on
        its redemption (so a crash never leaves a redemption that no voucher leads to any more)."""
        ...

    def anonymise_transactions(self, customer_id: str, token: str) -> int:
        """Replace customer_id (and with it the by_customer key) and the stored answer's copy of it."""
        ...

    def finish(self, profile: Profile, profile_key: str, token: str, erased_at: str) -> None:
        """Atomically: store the profile's aggregates under `profile_key` (only if new: ProfileKeyTaken),
        delete the profile under the customer id (only at profile.version: VersionConflict) and
        record the erasure under the token."""
        ...


# ---------------------------------------------------------------------------------------------
# Members (loyalty.service.members): enrolment, consents and preferences, status, interactions


@dataclass(frozen=True)
class StoredInteraction:
    interaction_id: str
    customer_id: str
    kind: str
    occurred_at: str  # ISO 8601 with the offset it was sent with
    occurred_key: str  # UTC instant + "#" + id
    channel: str
    body_hash: str


class MemberStore(Protocol):
    def save_profile(self, profile: Profile, expected_version: int | None) -> None:
        """Write the profile only at `expected_version` (None: only if there is none), bumping the
        version. Raises VersionConflict or Throttled."""
        ...

    def get_interaction(self, interaction_id: str) -> StoredInteraction | None: ...

    def record_interaction(
        self, interaction: StoredInteraction, profile: Profile, expected_version: int
    ) -> None:
        """Atomically: store the interaction (only if its id is new: DuplicateInteraction) and write the
        profile at `expected_version` (VersionConflict)."""
        ...

    def delete_interactions(self, customer_id: str) -> int:
        """Delete every interaction of the customer (erasure); how many."""
        ...


# ---------------------------------------------------------------------------------------------
# Adjustments (back office): one record per adjustment_id, written with the profile's points.


@dataclass(frozen=True)
class Adjustment:
    """What is kept of an adjustment: its id, the hash of its content (customer, points, reason, note:
    same id with other content -> 409) and the first answer without customer_id or note, so the record
    holds nothing personal and erasure has nothing to anonymise here."""

    adjustment_id: str
    content_hash: str
    created_at: str  # UTC ISO instant
    response: dict[str, Any] = field(default_factory=dict)


class AdjustmentStore(Protocol):
    def get_adjustment(self, adjustment_id: str) -> Adjustment | None: ...

    def adjust(
        self,
        adjustment: Adjustment,
        customer_id: str,
        points: int,
        lots: Mapping[str, int],
        expected_version: int,
        total_after: int | None = None,
    ) -> None:
        """Atomically: store the record (only if its id is new: DuplicateAdjustment) and move the
        profile's points (ADD points_balance and points_adjusted `points`, SET lots, version +1, only at
        `expected_version` and not erased: VersionConflict). With `total_after` (the stored
        points_balance after it), the ledger's `adjusted` entry goes in the same transaction."""
        ...


# ---------------------------------------------------------------------------------------------
# The points ledger (domain/ledger.py): entries are written by the stores above, inside the write that
# moves the points (record_chunk: earned/returned; redeem, cancel_voucher: redeemed; adjust: adjusted;
# CustomerScan.save_classification: expired). This port reads them and erases them.


@dataclass(frozen=True)
class LedgerPage:
    items: list[LedgerEntry]
    next_cursor: str | None


class LedgerStore(Protocol):
    def entries(self, customer_id: str, limit: int, cursor: str | None) -> LedgerPage:
        """A customer's ledger, newest first; ValueError for a cursor this API did not return or one
        returned for another customer."""
        ...

    def delete_entries(self, customer_id: str) -> int:
        """Delete every ledger entry of the customer (erasure); how many."""
        ...
