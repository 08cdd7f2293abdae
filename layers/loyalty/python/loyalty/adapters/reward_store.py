"""What a purchase's earning rules and rewards read and write in the redemptions table: the month's rule
counter (`#cap#...` items), reward vouchers with their redemption record, whose id is the reward's
key, so a reward is issued once, and referrals (`#refcode#`, `#referrer#` items), with the referrer's
profile when a referral rewards them (docs/rules-and-rewards.md)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import GetError, TransactWriteError
from pynamodb.transactions import TransactWrite

from loyalty.adapters.dynamo_errors import Labelled, raise_if_throttled, throttled
from loyalty.adapters.items import counts_from_item, profile_to_item
from loyalty.adapters.ledger_store import ledger_item
from loyalty.adapters.models import CustomerItem, RedemptionItem, ReferralItem, RuleCounterItem, VoucherItem
from loyalty.adapters.redemption_store import voucher_to_item
from loyalty.ports import (
    PurchaseRewards,
    Referrer,
    RuleCounter,
    Throttled,
    VersionConflict,
    Voucher,
    referral_code_key,
    referrer_key,
)


class DynamoRewardStore:
    def counter(self, customer_id: str, month: str) -> RuleCounter:
        empty = RuleCounter(customer_id, month)
        try:
            item = RuleCounterItem.get(empty.key, consistent_read=True)
        except RuleCounterItem.DoesNotExist:
            return empty
        except GetError as exc:
            raise_if_throttled(exc)
            raise
        return RuleCounter(customer_id, month, counts_from_item(item.counts), int(item.version or 0))

    def reward_issued(self, redemption_id: str) -> bool:
        try:
            RedemptionItem.get(redemption_id, consistent_read=True, attributes_to_get=["redemption_id"])
        except RedemptionItem.DoesNotExist:
            return False
        except GetError as exc:
            raise_if_throttled(exc)
            raise
        return True

    def referrer_of(self, customer_id: str) -> Referrer | None:
        item = _get(ReferralItem, referrer_key(customer_id))
        if item is None or not item.code:
            return None
        return Referrer(customer_id, item.code, tuple(item.rewarded or ()), int(item.version or 0))

    def code_owner(self, code: str) -> str | None:
        item = _get(ReferralItem, referral_code_key(code))
        return None if item is None else item.customer_id

    def create_code(self, referrer: Referrer) -> None:
        tx = Labelled(TransactWrite(connection=CustomerItem._get_connection().connection))
        try:
            with tx.tw:
                for key, code in ((referral_code_key(referrer.code), None), (referrer.key, referrer.code)):
                    tx.save(
                        f"referral:{key}",
                        ReferralItem(
                            redemption_id=key, customer_id=referrer.customer_id, code=code, version=1
                        ),
                        condition=ReferralItem.redemption_id.does_not_exist(),
                    )
        except TransactWriteError as exc:
            codes = list(tx.reasons(exc).values())
            if throttled(exc, codes):
                raise Throttled(str(exc)) from exc
            raise VersionConflict(referrer.customer_id) from exc

    def forget_referrals(self, customer_id: str) -> int:
        """Erasure: delete the customer's referral code and referrer items (the code then answers
        unknown_code); how many were deleted."""
        item = _get(ReferralItem, referrer_key(customer_id))
        if item is None:
            return 0
        keys = [referrer_key(customer_id), *([referral_code_key(item.code)] if item.code else [])]
        for key in keys:
            ReferralItem(redemption_id=key).delete()
        return len(keys)


def _get(model: Any, key: str) -> Any:
    try:
        return model.get(key, consistent_read=True)
    except model.DoesNotExist:
        return None
    except GetError as exc:
        raise_if_throttled(exc)
        raise


def reward_record(voucher: Voucher) -> RedemptionItem:
    """The reward's redemption record: its key, the voucher's code and the first answer's voucher."""
    record = RedemptionItem(
        redemption_id=voucher.redemption_id,
        customer_id=voucher.customer_id,
        points=voucher.points,
        created_at=voucher.issued_at,
        voucher_code=voucher.code,
    )
    record.response = {"cause": voucher.cause, "voucher_code": voucher.code}  # type: ignore[assignment]
    return record


def write_rewards(tx: Labelled, rewards: PurchaseRewards) -> None:
    """Add the rewards' items to a TransactWrite (labelled `reward:...`: a refusal is a VersionConflict)."""
    counter = rewards.counter
    if counter is not None:
        condition = (
            RuleCounterItem.redemption_id.does_not_exist()
            if counter.version == 0
            else RuleCounterItem.version == counter.version
        )
        tx.save(
            f"reward:{counter.key}",
            RuleCounterItem(
                redemption_id=counter.key,
                customer_id=counter.key,  # the hash only: a counter keeps no card number (erasure)
                counts=dict(counter.counts),
                version=counter.version + 1,
            ),
            condition=condition,
        )
    for voucher in rewards.vouchers:
        tx.save(
            f"reward:{voucher.redemption_id}",
            reward_record(voucher),
            condition=RedemptionItem.redemption_id.does_not_exist(),
        )
        tx.save(
            f"reward-voucher:{voucher.code}",
            voucher_to_item(voucher),
            condition=VoucherItem.code.does_not_exist(),
        )
    referrer = rewards.referrer
    if referrer is not None:  # the referral counts once: at the version read
        tx.save(
            f"reward:{referrer.key}",
            ReferralItem(
                redemption_id=referrer.key, customer_id=referrer.customer_id, code=referrer.code,
                rewarded=list(referrer.rewarded), version=referrer.version + 1,
            ),
            condition=ReferralItem.version == referrer.version,
        )  # fmt: skip
    other = rewards.other
    if other is not None:  # the referrer's points, at the version read, with their ledger entry
        tx.save(
            f"reward:profile:{other.profile.customer_id}",
            profile_to_item(other.profile, other.expected_version + 1),
            condition=CustomerItem.version == other.expected_version,
        )
        tx.save(f"reward:ledger:{other.entry.seq}", ledger_item(other.entry))
