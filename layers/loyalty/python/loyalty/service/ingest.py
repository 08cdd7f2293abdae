"""POST /v1/transactions: one read, one TransactWriteItems, retried on conflict. The rules of a
transaction (validation, answer, stored record, content hash) are service/transactions.py's."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from loyalty.domain.earning_rules import add_counts
from loyalty.domain.members import contactable
from loyalty.domain.profile import Profile, new_profile
from loyalty.errors import ApiError, all_of, field_error
from loyalty.events import DomainEvent, tier_changed, with_contactable
from loyalty.ports import (
    CustomerStore,
    DuplicateTransaction,
    EventPublisher,
    PurchaseRewards,
    RewardStore,
    RuleCounter,
    StoredTransaction,
    Throttled,
    TransactionStore,
    VersionConflict,
    Voucher,
)
from loyalty.programme import Programme
from loyalty.service.earning_rules import needs_counter, within_window
from loyalty.service.referrals import (
    ReferralPlan,
    plan_referral,
    referral_rewarded,
    referrer_earning,
    referrer_take_back,
)
from loyalty.service.retry import attempts
from loyalty.service.rewards import reward_issued_event, tier_reward_for, voucher_view
from loyalty.service.transactions import (
    MAX_FUTURE_SKEW,
    Applied,
    Transaction,
    TransactionRequest,
    apply,
    body_hash,
    conflict_error,
    erased_error,
    same_content,
    tier_change_of,
    validate,
)

__all__ = [
    "MAX_FUTURE_SKEW",
    "ApiError",
    "IngestService",
    "TransactionRequest",
    "all_of",
    "erased_error",
    "field_error",
]  # fmt: skip  (the names other modules and tests import from here)


@dataclass
class IngestService:
    customers: CustomerStore
    transactions: TransactionStore
    publisher: EventPublisher
    programme: Programme
    rewards: RewardStore | None = None  # earning rules' caps and tier rewards (None: neither is read)
    max_attempts: int = 30
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    conflicts: int = 0  # optimistic retries taken, for tests and metrics

    def record(self, request: TransactionRequest) -> tuple[int, dict[str, Any]]:
        """Returns (status, body). Same transaction again -> the first answer; other body -> 409."""
        txn = validate(request, self.programme, self.now())
        for _ in attempts(self.max_attempts, self.sleep, self._conflict):
            try:
                answer, profile = self._try(txn)
            except (VersionConflict, Throttled):
                continue
            except DuplicateTransaction:
                return self._replay(txn)
            events = self._tier_events(request, answer, profile)
            if events:
                self.publisher.publish(events)
            return 201, answer
        raise ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")

    def _conflict(self) -> None:
        self.conflicts += 1

    def _try(self, txn: Transaction) -> tuple[dict[str, Any], Profile | None]:
        request = txn.request
        original = None
        if request.original_transaction_id is None:
            profile = self.customers.get(request.customer_id)
        else:
            original, profile = self.transactions.get_with_profile(
                request.original_transaction_id, request.customer_id
            )
        counter = self._counter(profile, txn)
        referral = self._referral(profile, txn)
        try:
            applied = apply(
                profile, txn, self.programme, original, self.now(), counter.counts if counter else None,
                referral.referee_points if referral else 0,
            )  # fmt: skip
        except ApiError as error:
            # A retried transaction may look invalid now (its return already applied): replay it.
            if self.transactions.get(request.transaction_id) is not None:
                raise DuplicateTransaction(request.transaction_id) from error
            raise
        applied, rewards = self._with_rewards(applied, counter)
        applied, rewards = self._with_referral(applied, rewards, referral, original)
        self.transactions.record(
            applied.stored, applied.profile, profile.version if profile else None, applied.returned, rewards
        )
        return applied.answer, profile

    def _counter(self, profile: Profile | None, txn: Transaction) -> RuleCounter | None:
        """The month's rule counter, read only when a capped rule gives this purchase points."""
        request = txn.request
        if self.rewards is None or request.kind != "purchase":
            return None
        current = profile or new_profile(request.customer_id, self.programme.base_tier.name)
        if not needs_counter(current, txn, self.programme):
            return None
        return self.rewards.counter(request.customer_id, self.programme.month_of(request.occurred_at))

    def _referral(self, profile: Profile | None, txn: Transaction) -> ReferralPlan | None:
        request = txn.request
        if self.rewards is None or request.kind != "purchase" or not request.referral_code:
            return None
        day = request.occurred_at.astimezone(self.programme.zone).date()
        return plan_referral(
            self.programme, self.rewards, self.customers, request.referral_code.upper(), profile,
            request.customer_id, txn.amount, day,
        )  # fmt: skip

    def _with_referral(
        self,
        applied: Applied,
        rewards: PurchaseRewards | None,
        plan: ReferralPlan | None,
        original: StoredTransaction | None,
    ) -> tuple[Applied, PurchaseRewards | None]:
        """A purchase's referral (the answer says what it gave, or why not; a rewarded one writes the
        referrer's points and count with the purchase), or the referrer's points taken back by a full
        return inside the window of the purchase that gave them."""
        stored = applied.stored
        today = self.now().astimezone(self.programme.zone).date()
        if plan is not None:
            answer = {**applied.answer, "referral": plan.answer}
            applied = replace(
                applied,
                answer=answer,
                stored=replace(stored, response={**stored.response, "referral": plan.answer}),
            )
            if plan.referrer is None or plan.referrer_profile is None:
                return applied, rewards
            day = datetime.fromisoformat(stored.occurred_at).astimezone(self.programme.zone).date()
            other = referrer_earning(
                plan.referrer_profile, int(plan.answer["referrer_points"]), day, max(today, day),
                stored.occurred_at, stored.transaction_id, self.programme,
            )  # fmt: skip
            return applied, replace(rewards or PurchaseRewards(), referrer=plan.referrer, other=other)
        given = (original.response.get("referral") or {}) if original is not None else {}
        if self.rewards is None or original is None or given.get("status") != "rewarded":
            return applied, rewards
        if original.returned + stored.amount < original.amount:
            return applied, rewards
        if not within_window(original, datetime.fromisoformat(stored.occurred_at), self.programme):
            return applied, rewards
        referrer = self.customers.get(str(given["referrer_id"]))
        if referrer is None or referrer.erased:
            return applied, rewards
        earned_on = datetime.fromisoformat(original.occurred_at).astimezone(self.programme.zone).date()
        other = referrer_take_back(
            referrer, int(given["referrer_points"]), earned_on, max(today, earned_on), stored.occurred_at,
            stored.transaction_id, self.programme,
        )  # fmt: skip
        return applied, replace(rewards or PurchaseRewards(), other=other)

    def _with_rewards(
        self, applied: Applied, counter: RuleCounter | None
    ) -> tuple[Applied, PurchaseRewards | None]:
        """The counter's new counts and, at a purchase entering a tier with a reward not yet issued for
        that tier and month, the reward voucher (in the answer, the stored answer and the write)."""
        if self.rewards is None:
            return applied, None
        request = applied.stored
        new_counter = None
        if counter is not None and applied.rule_usage:
            new_counter = replace(counter, counts=add_counts(counter.counts, applied.rule_usage))
        vouchers: tuple[Voucher, ...] = ()
        upgrade = applied.answer.get("tier_upgrade")
        if upgrade:
            voucher = tier_reward_for(
                request.customer_id, upgrade["to"], datetime.fromisoformat(request.occurred_at), self.now(),
                self.programme,
            )  # fmt: skip
            if voucher is not None and not self.rewards.reward_issued(voucher.redemption_id):
                vouchers = (voucher,)
                view = voucher_view(voucher, self.now())
                answer = {**applied.answer, "tier_reward": view}
                stored = replace(applied.stored, response={**applied.stored.response, "tier_reward": view})
                applied = replace(applied, answer=answer, stored=stored)
        if new_counter is None and not vouchers:
            return applied, None
        return applied, PurchaseRewards(new_counter, vouchers)

    def _replay(self, txn: Transaction) -> tuple[int, dict[str, Any]]:
        request = txn.request
        stored = self.transactions.get(request.transaction_id)
        if stored is None:  # vanished (erased): treat as a conflict rather than guess
            raise ApiError(409, "transaction_conflict", "transaction_id: already used")
        if not same_content(stored, txn, body_hash(request.raw)):
            raise conflict_error()
        answer = dict(stored.response)
        # At least once: an upgrade event lost to a crash after the write goes out on the retry.
        events = self._tier_events(request, answer, None)
        if events:
            self.publisher.publish(events)
        return 201, answer

    def _tier_events(
        self, request: TransactionRequest, answer: Mapping[str, Any], profile: Profile | None
    ) -> list[DomainEvent]:
        """The tier change this transaction made: an upgrade at a purchase, or the reversal of one at
        the return that undid it (the transaction is the cause, so a replay sends the same event)."""
        referral = answer.get("referral") or {}
        rewarded = (
            [
                referral_rewarded(
                    request.customer_id,
                    request.transaction_id,
                    referral,
                    self.programme.month_of(request.occurred_at),
                )
            ]
            if referral.get("status") == "rewarded"
            else []
        )
        change = tier_change_of(answer)
        if change is None:
            if rewarded:
                reach = contactable(
                    profile or self.customers.get(request.customer_id), self.programme.month_of(self.now())
                )
                return list(with_contactable(rewarded, reach))
            return []
        before, after, direction = change
        if profile is None:  # a replay: the member's consents and status as they are now
            profile = self.customers.get(request.customer_id)
        reach = contactable(profile, self.programme.month_of(self.now()))
        events = [
            tier_changed(
                request.customer_id,
                self.programme.month_of(request.occurred_at),
                request.transaction_id,
                before,
                after,
                direction,
                {"points_balance": answer["points_balance"]},
            )
        ]
        events.extend(rewarded)
        if answer.get("tier_reward"):  # the reward voucher issued with it (a replay: the same event id)
            balance = int(answer["points_balance"])
            events.append(
                reward_issued_event(request.customer_id, answer["tier_reward"], balance, self.programme)
            )
        return list(with_contactable(events, reach))
