"""Reward vouchers: a tier's reward on entering it (at the purchase that crosses the threshold),
issued once per customer, tier and programme month entered (docs/rules-and-rewards.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.dates import iso_utc_precise
from loyalty.events import DomainEvent, event_id
from loyalty.ports import Voucher
from loyalty.programme import Programme
from loyalty.programme.rewards import TierReward
from loyalty.service.redemptions import new_voucher_code, voucher_expiry, voucher_issued, voucher_view


def tier_reward_key(customer_id: str, tier: str, month: str) -> str:
    """The reward's redemption_id: one per customer, tier and month entered. It starts with `#`, which
    no caller's redemption_id can, and holds no card number in clear."""
    return f"#tier#{event_id(customer_id, tier, month, 'tier-reward')}"


def reward_voucher(
    customer_id: str, key: str, reward: TierReward, cause: str, issued: datetime, programme: Programme
) -> Voucher:
    expires_on, expires_at = voucher_expiry(issued, programme, reward.valid_days)
    return Voucher(
        code=new_voucher_code(),
        customer_id=customer_id,
        redemption_id=key,
        points=0,
        value=reward.value or 0,
        currency=programme.currency,
        issued_at=iso_utc_precise(issued),
        expires_on=expires_on,
        expires_at=expires_at,
        kind=reward.kind,
        percent=reward.percent,
        cause=cause,
    )


def tier_reward_for(
    customer_id: str, tier: str, occurred_at: datetime, issued: datetime, programme: Programme
) -> Voucher | None:
    """The voucher entering `tier` at a purchase of `occurred_at` gives (None: the tier has no reward)."""
    reward = programme.tier_or_base(tier).reward
    if reward is None:
        return None
    key = tier_reward_key(customer_id, tier, programme.month_of(occurred_at))
    return reward_voucher(customer_id, key, reward, "tier_reward", issued, programme)


def reward_issued_event(
    customer_id: str, voucher: dict[str, Any], balance: int, programme: Programme
) -> DomainEvent:
    """VoucherIssued for a reward voucher as the answer shows it (points 0: the balance is unchanged)."""
    answer = {
        "redemption_id": voucher["redemption_id"],
        "points_redeemed": 0,
        "points_balance": balance,
        "voucher": voucher,
    }
    return voucher_issued(customer_id, answer, programme)


__all__ = ["reward_issued_event", "reward_voucher", "tier_reward_for", "tier_reward_key", "voucher_view"]
