"""Referrals: the customer's stable code (POST /v1/customers/{id}/referral-code) and, at a purchase
carrying `referral_code`, what it gives the referee and the referrer (docs/rules-and-rewards.md). The
decision is domain/referrals.py's; the referrer's points go into the purchase's own TransactWriteItems."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from loyalty.domain.ledger import EARNED, RETURNED, TRANSACTION, LedgerEntry, seq_key
from loyalty.domain.lots import earn, take_back
from loyalty.domain.members import is_blocked
from loyalty.domain.profile import Profile
from loyalty.domain.referrals import ReferralFacts, recent, refusal
from loyalty.errors import ApiError
from loyalty.events import DetailType, DomainEvent, ab_bucket, event_id
from loyalty.ports import CustomerStore, OtherProfile, Referrer, RewardStore, Throttled, VersionConflict
from loyalty.programme import Programme
from loyalty.service.redemptions import CODE_ALPHABET
from loyalty.service.retry import attempts

CODE_LENGTH = 8  # 40 random bits: a code is shared on purpose, guessing one only rewards its owner


def new_referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass
class ReferralService:
    customers: CustomerStore
    rewards: RewardStore
    max_attempts: int = 10
    sleep: Callable[[float], None] = time.sleep

    def code_for(self, customer_id: str) -> dict[str, Any]:
        """The customer's code, created at the first call and the same ever after."""
        profile = self.customers.get(customer_id)
        if profile is None or profile.erased:
            raise ApiError(404, "customer_not_found", f"customer_id: no customer {customer_id!r}")
        for _ in attempts(self.max_attempts, self.sleep, lambda: None):
            known = self.rewards.referrer_of(customer_id)
            if known is not None:
                return {"customer_id": customer_id, "referral_code": known.code}
            try:
                self.rewards.create_code(Referrer(customer_id, new_referral_code()))
            except (VersionConflict, Throttled):  # a concurrent first call won, or the code was taken
                continue
        raise ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")


@dataclass(frozen=True)
class ReferralPlan:
    """What a purchase's referral code gives: the answer's `referral`, the referee's points, and the
    referrer's state and profile to write with the purchase (both None when refused)."""

    answer: dict[str, Any]
    referee_points: int = 0
    referrer: Referrer | None = None  # with this purchase's day appended, version as read
    referrer_profile: Profile | None = None  # as read


def plan_referral(
    programme: Programme, rewards: RewardStore, customers: CustomerStore, code: str, referee: Profile | None,
    referee_id: str, amount: int, day: date,
) -> ReferralPlan:  # fmt: skip
    """Read what the decision needs (the code's owner, their rewarded referrals and profile) and decide."""
    owner = rewards.code_owner(code) if programme.referrals is not None else None
    referrer = rewards.referrer_of(owner) if owner is not None else None
    referrer_profile = customers.get(owner) if owner is not None and owner != referee_id else None
    usable = referrer_profile is not None and not referrer_profile.erased and not is_blocked(referrer_profile)
    facts = ReferralFacts(
        referee_id, referee.lifetime_purchases if referee else 0, amount, day, owner if referrer else None,
        usable, referrer.rewarded if referrer else (),
    )  # fmt: skip
    reason = refusal(programme.referrals, facts)
    if reason is None and is_blocked(referee):
        reason = "member_blocked"
    if reason is not None:
        return ReferralPlan({"status": "refused", "reason": reason})
    assert programme.referrals is not None and referrer is not None and referrer_profile is not None
    rewarded = (*recent(referrer.rewarded, day), day.isoformat())
    return ReferralPlan(
        {
            "status": "rewarded",
            "referrer_id": referrer.customer_id,
            "referee_points": programme.referrals.referee_points,
            "referrer_points": programme.referrals.referrer_points,
        },
        programme.referrals.referee_points,
        replace(referrer, rewarded=rewarded),
        referrer_profile,
    )


def referrer_earning(
    referrer: Profile, points: int, day: date, today: date, occurred_at: str, transaction_id: str,
    programme: Programme,
) -> OtherProfile:  # fmt: skip
    """The referrer's points as pending points of the referee's purchase (its day), with their entry."""
    updated = replace(
        earn(referrer, programme, day, points, today), points_earned=referrer.points_earned + points
    )
    entry = LedgerEntry(
        referrer.customer_id, seq_key(referrer.version + 1), EARNED, points, updated.points_balance,
        occurred_at, TRANSACTION, transaction_id,
    )  # fmt: skip
    return OtherProfile(updated, referrer.version, entry)


def referrer_take_back(
    referrer: Profile, points: int, earned_on: date, today: date, occurred_at: str, transaction_id: str,
    programme: Programme,
) -> OtherProfile:  # fmt: skip
    """The referrer's points taken back by the full return, inside the window, of the referee's purchase."""
    taken, _ = take_back(referrer, programme, earned_on, points, today)
    updated = replace(taken, points_earned=referrer.points_earned - points)
    entry = LedgerEntry(
        referrer.customer_id, seq_key(referrer.version + 1), RETURNED, -points, updated.points_balance,
        occurred_at, TRANSACTION, transaction_id,
    )  # fmt: skip
    return OtherProfile(updated, referrer.version, entry)


def referral_rewarded(
    referee_id: str, transaction_id: str, referral: dict[str, Any], period: str
) -> DomainEvent:
    """ReferralRewarded, once per rewarded purchase: id from the referrer and the purchase (a replay
    sends the same id)."""
    referrer = str(referral["referrer_id"])
    return DomainEvent(
        DetailType.REFERRAL_REWARDED,
        event_id(referrer, transaction_id, "referral"),
        {
            "customer_id": referrer,
            "referee_id": referee_id,
            "transaction_id": transaction_id,
            "period": period,
            "referrer_points": int(referral["referrer_points"]),
            "referee_points": int(referral["referee_points"]),
            "ab_bucket": ab_bucket(referrer),
        },
    )
