"""In-memory fakes of the ports, with the same atomicity and conditions as the real adapters."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from loyalty.domain.ledger import (
    LedgerEntry,
    adjustment_entry,
    cancel_entry,
    expiry_of,
    redemption_entry,
    transaction_entries,
)
from loyalty.domain.profile import Profile
from loyalty.events import DomainEvent
from loyalty.ports import (
    ChunkWrite,
    DuplicateTransaction,
    HistoryPage,
    PurchaseRewards,
    Referrer,
    ReturnedUpdate,
    RuleCounter,
    RunAlreadyStarted,
    RunState,
    StoredTransaction,
    VersionConflict,
    Voucher,
)


class InMemoryStore:
    """Customer store and transaction store in one, so `record` can be atomic."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self.transactions: dict[str, StoredTransaction] = {}
        self.ledger: dict[tuple[str, str], LedgerEntry] = {}  # (customer_id, seq): the ledger table
        self.counters: dict[str, RuleCounter] = {}  # earning rules' caps, by RuleCounter.key
        self.reward_vouchers: dict[str, Voucher] = {}  # reward vouchers by their key (redemption_id)
        self.codes: dict[str, str] = {}  # referral code -> its owner
        self.referrers: dict[str, Referrer] = {}  # customer -> their code and rewarded referrals
        self.lock = threading.Lock()
        self.calls: list[str] = []

    # CustomerStore
    def get(self, customer_id: str) -> Profile | None:
        self.calls.append("GetItem")
        return self.profiles.get(customer_id)

    def get_profiles(self, customer_ids: Iterable[str]) -> dict[str, Profile]:
        self.calls.append("BatchGetItem")
        return {c: self.profiles[c] for c in customer_ids if c in self.profiles}

    # TransactionStore
    def get_transaction(self, transaction_id: str) -> StoredTransaction | None:
        self.calls.append("GetItem")
        return self.transactions.get(transaction_id)

    def get_with_profile(
        self, transaction_id: str, customer_id: str
    ) -> tuple[StoredTransaction | None, Profile | None]:
        self.calls.append("TransactGetItems")
        return self.transactions.get(transaction_id), self.profiles.get(customer_id)

    def get_many(self, transaction_ids: Iterable[str]) -> dict[str, StoredTransaction]:
        self.calls.append("BatchGetItem")
        return {i: self.transactions[i] for i in transaction_ids if i in self.transactions}

    def record(
        self,
        transaction: StoredTransaction,
        profile: Profile,
        expected_version: int | None,
        returned: ReturnedUpdate | None = None,
        rewards: PurchaseRewards | None = None,
    ) -> None:
        self.record_chunk([transaction], profile, expected_version, [returned] if returned else [], rewards)

    def record_chunk(
        self,
        transactions: Sequence[StoredTransaction],
        profile: Profile,
        expected_version: int | None,
        returned: Sequence[ReturnedUpdate] = (),
        rewards: PurchaseRewards | None = None,
    ) -> None:
        self.record_chunks([ChunkWrite(transactions, profile, expected_version, returned, rewards)])

    def record_chunks(self, chunks: Sequence[ChunkWrite]) -> None:
        self.calls.append("TransactWriteItems")
        with self.lock:
            for chunk in chunks:  # every condition first: all or nothing
                if chunk.rewards is not None:
                    self._check_rewards(chunk.rewards)
                for transaction in chunk.transactions:
                    if transaction.transaction_id in self.transactions:
                        raise DuplicateTransaction(transaction.transaction_id)
                current = self.profiles.get(chunk.profile.customer_id)
                if (current is None) != (chunk.expected_version is None) or (
                    current is not None and current.version != chunk.expected_version
                ):
                    raise VersionConflict(chunk.profile.customer_id)
                for move in chunk.returned:
                    original = self.transactions.get(move.transaction_id)
                    if original is None or original.returned != move.expected:
                        raise VersionConflict(move.transaction_id)
            for chunk in chunks:
                for move in chunk.returned:
                    moved = replace(self.transactions[move.transaction_id], returned=move.new)
                    if move.categories is not None:
                        moved = replace(moved, returned_categories=dict(move.categories))
                    self.transactions[move.transaction_id] = moved
                for transaction in chunk.transactions:
                    self.transactions[transaction.transaction_id] = transaction
                version = (chunk.expected_version or 0) + 1
                self.profiles[chunk.profile.customer_id] = replace(chunk.profile, version=version)
                self.book(transaction_entries(chunk.transactions, chunk.profile.points_balance, version))
                if chunk.rewards is not None:
                    self._write_rewards(chunk.rewards)

    # RewardStore (the redemptions table's counters and the reward vouchers, kept here: one lock)
    def counter(self, customer_id: str, month: str) -> RuleCounter:
        self.calls.append("GetItem")
        return self.counters.get(RuleCounter(customer_id, month).key) or RuleCounter(customer_id, month)

    def reward_issued(self, redemption_id: str) -> bool:
        self.calls.append("GetItem")
        return redemption_id in self.reward_vouchers

    def referrer_of(self, customer_id: str) -> Referrer | None:
        self.calls.append("GetItem")
        return self.referrers.get(customer_id)

    def code_owner(self, code: str) -> str | None:
        self.calls.append("GetItem")
        return self.codes.get(code)

    def create_code(self, referrer: Referrer) -> None:
        self.calls.append("TransactWriteItems")
        with self.lock:
            if referrer.code in self.codes or referrer.customer_id in self.referrers:
                raise VersionConflict(referrer.customer_id)
            self.codes[referrer.code] = referrer.customer_id
            self.referrers[referrer.customer_id] = replace(referrer, version=1)

    def forget_referrals(self, customer_id: str) -> int:
        with self.lock:
            referrer = self.referrers.pop(customer_id, None)
            if referrer is None:
                return 0
            self.codes.pop(referrer.code, None)
            return 2

    def _check_rewards(self, rewards: PurchaseRewards) -> None:
        if rewards.referrer is not None:
            stored = self.referrers.get(rewards.referrer.customer_id)
            if stored is None or stored.version != rewards.referrer.version:
                raise VersionConflict(rewards.referrer.customer_id)
        if rewards.other is not None:
            current = self.profiles.get(rewards.other.profile.customer_id)
            if current is None or current.version != rewards.other.expected_version:
                raise VersionConflict(rewards.other.profile.customer_id)
        counter = rewards.counter
        if counter is not None:
            stored = self.counters.get(counter.key)
            if (stored.version if stored else 0) != counter.version:
                raise VersionConflict(counter.key)
        for voucher in rewards.vouchers:
            if voucher.redemption_id in self.reward_vouchers:
                raise VersionConflict(voucher.redemption_id)

    def _write_rewards(self, rewards: PurchaseRewards) -> None:
        if rewards.referrer is not None:
            self.referrers[rewards.referrer.customer_id] = replace(
                rewards.referrer, version=rewards.referrer.version + 1
            )
        if rewards.other is not None:
            other = rewards.other
            self.profiles[other.profile.customer_id] = replace(
                other.profile, version=other.expected_version + 1
            )
            self.book([other.entry])
        if rewards.counter is not None:
            self.counters[rewards.counter.key] = replace(rewards.counter, version=rewards.counter.version + 1)
        for voucher in rewards.vouchers:
            self.reward_vouchers[voucher.redemption_id] = voucher

    def book(self, entries: Iterable[LedgerEntry | None]) -> None:
        """Ledger entries of a write, under the write's lock (the adapters: in its TransactWriteItems)."""
        for item in entries:
            if item is not None:
                self.ledger[(item.customer_id, item.seq)] = item

    def history(self, customer_id: str, limit: int, cursor: str | None) -> HistoryPage:
        self.calls.append("Query")
        items = sorted(
            (t for t in self.transactions.values() if t.customer_id == customer_id),
            key=lambda t: t.occurred_key,
            reverse=True,
        )
        if cursor:
            items = [t for t in items if t.occurred_key < _cursor_key(cursor, customer_id)]
        page = items[:limit]
        more = len(items) > limit
        next_cursor = _cursor(customer_id, page[-1].occurred_key) if more else None
        return HistoryPage(page, next_cursor)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _cursor(customer_id: str, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([customer_id, key]).encode()).decode()


def _cursor_key(cursor: str, customer_id: str) -> str:
    """The adapters' rules for a cursor (adapters/cursors.py): only one this API returned, only for the
    customer it was returned for; ValueError otherwise."""
    try:
        owner, key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, TypeError) as exc:
        raise ValueError("is not a cursor this API returned") from exc
    if owner != customer_id:
        raise ValueError("belongs to another customer")
    return str(key)


class TransactionView:
    """Adapts InMemoryStore to the TransactionStore protocol (its `get` reads transactions)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def get(self, transaction_id: str) -> StoredTransaction | None:
        return self.store.get_transaction(transaction_id)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.store, name)


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)


# ---------------------------------------------------------------------------------------------
# The monthly reclassification


def scan_segment_of(customer_id: str, total_segments: int) -> int:
    """Where a parallel scan finds a key in the fake (DynamoDB spreads keys by their hash too)."""
    digest = hashlib.sha256(customer_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % total_segments


class InMemoryCustomerScan:
    """The CustomerScan port over an InMemoryStore (shared with ingest, so both can race)."""

    def __init__(self, store: InMemoryStore, page_size: int = 100) -> None:
        self.store = store
        self.page_size = page_size
        self.writes = 0

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        with self.store.lock:
            ids = sorted(
                (c for c in self.store.profiles if scan_segment_of(c, total_segments) == segment),
                key=lambda c: (hashlib.sha256(c.encode()).digest(), c),
            )
        for start in range(0, len(ids), self.page_size):
            self.store.calls.append("Scan")
            page = [self.store.profiles.get(c) for c in ids[start : start + self.page_size]]
            yield [p for p in page if p is not None]

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        self.store.calls.append("PutItem")
        with self.store.lock:
            current = self.store.profiles.get(profile.customer_id)
            if current is None or current.version != expected_version:
                raise VersionConflict(profile.customer_id)
            self.store.profiles[profile.customer_id] = replace(profile, version=expected_version + 1)
            if before is not None:
                self.store.book([expiry_of(before, profile, expected_version + 1, _now())])
            self.writes += 1

    def get(self, customer_id: str) -> Profile | None:
        return self.store.get(customer_id)


class InMemoryRunStore:
    def __init__(self) -> None:
        self.documents: dict[str, dict] = {}

    def put(self, key: str, document: dict) -> None:
        self.documents[key] = json.loads(json.dumps(document))  # what S3 would give back

    def get(self, key: str) -> dict | None:
        document = self.documents.get(key)
        return None if document is None else json.loads(json.dumps(document))

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.documents if k.startswith(prefix))


class InMemoryRuns:
    """ReclassifyRuns: the starts it was asked for, in order; a test moves a run on with `finish` or
    `fail` (a run stays RUNNING until then)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict]] = []
        self.states: dict[str, RunState] = {}

    def start(self, name: str, run_input: dict) -> None:
        if name in self.states:
            raise RunAlreadyStarted(name)
        self.started.append((name, json.loads(json.dumps(run_input))))
        self.states[name] = RunState("RUNNING")

    def state(self, name: str) -> RunState | None:
        return self.states.get(name)

    def finish(self, name: str) -> None:
        self.states[name] = RunState("SUCCEEDED")

    def fail(self, name: str, error: str, cause: str) -> None:
        self.states[name] = RunState("FAILED", error, cause)


class InMemoryCandidates:
    """CandidateStore over an InMemoryRunStore (the run reads the candidate back from there)."""

    def __init__(self, runs: InMemoryRunStore, prefix: str = "what-if/candidates/") -> None:
        self.runs = runs
        self.prefix = prefix

    def put(self, digest: str, document: dict) -> str:
        key = f"{self.prefix}{digest}.json"
        self.runs.put(key, document)
        return key


# ---------------------------------------------------------------------------------------------
# Redemptions, vouchers and erasure


class InMemoryRedemptions:
    """RedemptionStore and ErasureStore over an InMemoryStore (shared profiles, lock and calls), with
    the same conditions as the DynamoDB adapters."""

    def __init__(self, store: InMemoryStore) -> None:
        from loyalty.ports import ErasureRecord, Redemption

        self.store = store
        self.redemptions: dict[str, Redemption] = {}
        self.vouchers_by_code: dict[str, Voucher] = {}
        self.erasures: dict[str, ErasureRecord] = {}

    # RedemptionStore
    def get_redemption(self, redemption_id: str):  # type: ignore[no-untyped-def]
        self.store.calls.append("GetItem")
        return self.redemptions.get(redemption_id)

    def redeem(
        self, redemption, voucher, expected_version: int, lots=None, total_after=None, more_vouchers=()
    ) -> None:  # type: ignore[no-untyped-def]
        from loyalty.ports import DuplicateRedemption

        self.store.calls.append("TransactWriteItems")
        with self.store.lock:
            if redemption.redemption_id in self.redemptions:
                raise DuplicateRedemption(redemption.redemption_id)
            profile = self.store.profiles.get(redemption.customer_id)
            if (
                profile is None
                or profile.version != expected_version
                or profile.points_balance < redemption.points
                or profile.erased
                or voucher.code in self.vouchers_by_code
            ):
                raise VersionConflict(redemption.customer_id)
            self.redemptions[redemption.redemption_id] = redemption
            self.store.profiles[profile.customer_id] = replace(
                profile,
                points_balance=profile.points_balance - redemption.points,
                points_redeemed=profile.points_redeemed + redemption.points,
                version=profile.version + 1,
                lots=profile.lots if lots is None else dict(lots),
            )
            for issued in (voucher, *more_vouchers):
                self.vouchers_by_code[issued.code] = issued
            if total_after is not None:
                assert total_after == profile.points_balance - redemption.points, total_after
                self.store.book([redemption_entry(redemption, profile.version + 1, total_after)])

    def vouchers(self, customer_id: str, limit: int, cursor: str | None):  # type: ignore[no-untyped-def]
        from loyalty.ports import VoucherPage

        self.store.calls.append("Query")
        items = sorted(
            (v for v in self.vouchers_by_code.values() if v.customer_id == customer_id),
            key=lambda v: v.issued_key,
            reverse=True,
        )
        if cursor:
            try:
                after = base64.urlsafe_b64decode(cursor.encode()).decode()
            except ValueError as exc:
                raise ValueError("cursor is not one this API returned") from exc
            items = [v for v in items if v.issued_key < after]
        page = items[:limit]
        more = len(items) > limit
        next_cursor = base64.urlsafe_b64encode(page[-1].issued_key.encode()).decode() if more else None
        return VoucherPage(page, next_cursor)

    def use_voucher(self, code: str, used_at: str, use_id: str | None = None):  # type: ignore[no-untyped-def]
        from loyalty.ports import VoucherNotUsable

        self.store.calls.append("UpdateItem")
        with self.store.lock:
            voucher = self.vouchers_by_code.get(code)
            if voucher is None or voucher.status != "issued" or not used_at < voucher.expires_at:
                raise VoucherNotUsable(code, voucher)
            used = replace(voucher, status="used", used_at=used_at, use_id=use_id)
            self.vouchers_by_code[code] = used
            return used

    def get_voucher(self, code: str):  # type: ignore[no-untyped-def]
        self.store.calls.append("GetItem")
        return self.vouchers_by_code.get(code)

    def cancel_voucher(  # type: ignore[no-untyped-def]
        self,
        voucher,
        cancelled_at: str,
        expected_version: int,
        balance_after: int,
        lots=None,
        total_after=None,
    ):
        from loyalty.ports import VoucherNotUsable

        self.store.calls.append("TransactWriteItems")
        with self.store.lock:
            current = self.vouchers_by_code.get(voucher.code)
            if (
                current is None
                or current.status != "issued"
                or not cancelled_at < current.expires_at
                or current.customer_id != voucher.customer_id
            ):
                raise VoucherNotUsable(voucher.code, current)
            profile = self.store.profiles.get(voucher.customer_id)
            if profile is None or profile.version != expected_version or profile.erased:
                raise VersionConflict(voucher.customer_id)
            self.store.profiles[profile.customer_id] = replace(
                profile,
                points_balance=profile.points_balance + current.points,
                points_redeemed=profile.points_redeemed - current.points,
                version=profile.version + 1,
                lots=profile.lots if lots is None else dict(lots),
            )
            cancelled = replace(
                current,
                status="cancelled",
                cancelled_at=cancelled_at,
                balance_after_cancel=balance_after,
            )
            self.vouchers_by_code[voucher.code] = cancelled
            if total_after is not None:
                assert total_after == profile.points_balance + current.points, total_after
                self.store.book([cancel_entry(current, profile.version + 1, total_after, cancelled_at)])
            return cancelled

    # ErasureStore
    def mark_erased(self, customer_id: str) -> Profile | None:
        self.store.calls.append("UpdateItem")
        with self.store.lock:
            profile = self.store.profiles.get(customer_id)
            if profile is None:
                return None
            profile = replace(profile, erased=True, version=profile.version + 1)
            self.store.profiles[customer_id] = profile
            return profile

    def erasure(self, token: str):  # type: ignore[no-untyped-def]
        self.store.calls.append("GetItem")
        return self.erasures.get(token)

    def anonymise_vouchers(self, customer_id: str, token: str) -> int:
        self.store.calls.append("Query")
        with self.store.lock:
            mine = [v for v in self.vouchers_by_code.values() if v.customer_id == customer_id]
        for voucher in mine:  # the redemption first, then its voucher (as the adapter does)
            with self.store.lock:
                redemption = self.redemptions.get(voucher.redemption_id)
                if redemption is not None and redemption.customer_id == customer_id:
                    self.redemptions[redemption.redemption_id] = replace(redemption, customer_id=token)
            with self.store.lock:
                self.vouchers_by_code[voucher.code] = replace(voucher, customer_id=token)
        return len(mine)

    def anonymise_transactions(self, customer_id: str, token: str) -> int:
        self.store.calls.append("Query")
        done = 0
        with self.store.lock:
            for txn in [t for t in self.store.transactions.values() if t.customer_id == customer_id]:
                response = (
                    {**txn.response, "customer_id": token} if "customer_id" in txn.response else txn.response
                )
                self.store.transactions[txn.transaction_id] = replace(
                    txn, customer_id=token, body_hash="erased", response=response
                )
                done += 1
        return done

    def finish(self, profile: Profile, profile_key: str, token: str, erased_at: str) -> None:
        from loyalty.ports import ErasureRecord, ProfileKeyTaken

        self.store.calls.append("TransactWriteItems")
        with self.store.lock:
            if profile_key in self.store.profiles:
                raise ProfileKeyTaken(profile_key)
            current = self.store.profiles.get(profile.customer_id)
            if current is None or current.version != profile.version or not current.erased:
                raise VersionConflict(profile.customer_id)
            del self.store.profiles[profile.customer_id]
            self.store.profiles[profile_key] = replace(
                profile, customer_id=profile_key, erased=True, version=1
            )
            before = self.erasures.get(token)
            self.erasures[token] = ErasureRecord(
                token, erased_at, profile_key, (before.erasures if before else 0) + 1
            )


# ---------------------------------------------------------------------------------------------
# Members


class InMemoryMembers:
    """MemberStore over an InMemoryStore (shared profiles, lock and calls), with the adapter's conditions."""

    def __init__(self, store: InMemoryStore) -> None:
        from loyalty.ports import StoredInteraction

        self.store = store
        self.interactions: dict[str, StoredInteraction] = {}

    def _check_version(self, customer_id: str, expected_version: int | None) -> None:
        current = self.store.profiles.get(customer_id)
        if (current is None) != (expected_version is None) or (
            current is not None and current.version != expected_version
        ):
            raise VersionConflict(customer_id)

    def save_profile(self, profile: Profile, expected_version: int | None) -> None:
        self.store.calls.append("PutItem")
        with self.store.lock:
            self._check_version(profile.customer_id, expected_version)
            self.store.profiles[profile.customer_id] = replace(profile, version=(expected_version or 0) + 1)

    def get_interaction(self, interaction_id: str):  # type: ignore[no-untyped-def]
        self.store.calls.append("GetItem")
        return self.interactions.get(interaction_id)

    def record_interaction(self, interaction, profile: Profile, expected_version: int) -> None:  # type: ignore[no-untyped-def]
        from loyalty.ports import DuplicateInteraction

        self.store.calls.append("TransactWriteItems")
        with self.store.lock:
            if interaction.interaction_id in self.interactions:
                raise DuplicateInteraction(interaction.interaction_id)
            self._check_version(profile.customer_id, expected_version)
            self.interactions[interaction.interaction_id] = interaction
            self.store.profiles[profile.customer_id] = replace(profile, version=expected_version + 1)

    def delete_interactions(self, customer_id: str) -> int:
        self.store.calls.append("Query")
        with self.store.lock:
            mine = [k for k, v in self.interactions.items() if v.customer_id == customer_id]
            for key in mine:
                del self.interactions[key]
        return len(mine)


# ---------------------------------------------------------------------------------------------
# Adjustments


class InMemoryAdjustments:
    """AdjustmentStore over an InMemoryStore (shared profiles, lock and calls), with the DynamoDB
    adapter's conditions."""

    def __init__(self, store: InMemoryStore) -> None:
        from loyalty.ports import Adjustment

        self.store = store
        self.adjustments: dict[str, Adjustment] = {}

    def get_adjustment(self, adjustment_id: str):  # type: ignore[no-untyped-def]
        self.store.calls.append("GetItem")
        return self.adjustments.get(adjustment_id)

    def adjust(
        self, adjustment, customer_id: str, points: int, lots, expected_version: int, total_after=None
    ) -> None:  # type: ignore[no-untyped-def]
        from loyalty.ports import DuplicateAdjustment

        self.store.calls.append("TransactWriteItems")
        with self.store.lock:
            if adjustment.adjustment_id in self.adjustments:
                raise DuplicateAdjustment(adjustment.adjustment_id)
            profile = self.store.profiles.get(customer_id)
            if profile is None or profile.version != expected_version or profile.erased:
                raise VersionConflict(customer_id)
            self.adjustments[adjustment.adjustment_id] = adjustment
            self.store.profiles[customer_id] = replace(
                profile,
                points_balance=profile.points_balance + points,
                points_adjusted=profile.points_adjusted + points,
                lots=dict(lots),
                version=profile.version + 1,
            )
            if total_after is not None:
                assert total_after == profile.points_balance + points, total_after
                entry = adjustment_entry(adjustment, customer_id, points, profile.version + 1, total_after)
                self.store.book([entry])


# ---------------------------------------------------------------------------------------------
# The points ledger


class InMemoryLedger:
    """LedgerStore over an InMemoryStore (the entries the other fakes book), cursors as the adapter's."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def entries(self, customer_id: str, limit: int, cursor: str | None):  # type: ignore[no-untyped-def]
        from loyalty.ports import LedgerPage

        self.store.calls.append("Query")
        items = sorted(
            (e for (c, _), e in self.store.ledger.items() if c == customer_id),
            key=lambda e: e.seq,
            reverse=True,
        )
        if cursor:  # checked even when the customer has no entries (as DynamoDB's start key is)
            after = _cursor_key(cursor, customer_id)
            items = [e for e in items if e.seq < after]
        page = items[:limit]
        more = len(items) > limit
        return LedgerPage(page, _cursor(customer_id, page[-1].seq) if more else None)

    def delete_entries(self, customer_id: str) -> int:
        with self.store.lock:
            keys = [k for k in self.store.ledger if k[0] == customer_id]
            for key in keys:
                self.store.calls.append("DeleteItem")
                del self.store.ledger[key]
        return len(keys)
