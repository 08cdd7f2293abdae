"""The season's conversion (`vouchers.season_months`): the monthly run whose reference day falls in one
of these months converts every customer's spendable points into vouchers, one per whole block
(`block_points`), after the page's classification writes. Idempotent: one redemption per customer and
season (its id is derived from both), so a rerun, or a retry after a crash, issues nothing more; a
conversion already written republishes its events with the same ids (docs/rules-and-rewards.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from loyalty.domain.dates import iso_utc_precise
from loyalty.domain.lots import InsufficientPoints, available, spend
from loyalty.domain.members import contactable, is_blocked
from loyalty.domain.profile import Profile
from loyalty.events import DomainEvent, event_id, with_contactable
from loyalty.ports import (
    CustomerStore,
    DuplicateRedemption,
    EventPublisher,
    Redemption,
    RedemptionStore,
    Throttled,
    VersionConflict,
    Voucher,
)
from loyalty.programme import Programme
from loyalty.service.redemptions import new_voucher_code, voucher_expiry, voucher_issued, voucher_view

MAX_SEASON_VOUCHERS = 90  # one TransactWriteItems: the record, the profile, the ledger entry, the vouchers


def season_key(customer_id: str, season: str) -> str:
    """The conversion's redemption_id: `#` (no caller's id starts so) + a hash of customer and season."""
    return f"#season#{event_id(customer_id, season, 'season')}"


def season_of(programme: Programme, ref_date: date) -> str | None:
    """The season ('YYYY-MM' of the reference day) when this run converts, else None."""
    return ref_date.strftime("%Y-%m") if ref_date.month in programme.vouchers.season_months else None


def blocks_of(points: int, programme: Programme) -> int:
    return min(max(points, 0) // programme.vouchers.block_points, MAX_SEASON_VOUCHERS)


@dataclass
class SeasonConversion:
    customers: CustomerStore
    redemptions: RedemptionStore
    publisher: EventPublisher
    programme: Programme
    max_attempts: int = 20
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def convert_page(self, ref_date: date, profiles: Iterable[Profile]) -> int:
        """Convert the page's customers whose scanned balance covers a block; how many vouchers."""
        season = season_of(self.programme, ref_date)
        if season is None:
            return 0
        issued = 0
        for scanned in profiles:
            if scanned.erased or is_blocked(scanned):
                continue
            if blocks_of(available(scanned, self.programme, ref_date), self.programme):
                issued += self.convert(scanned.customer_id, season, ref_date)
        return issued

    def convert(self, customer_id: str, season: str, ref_date: date) -> int:
        key = season_key(customer_id, season)
        for attempt in range(self.max_attempts):
            profile = self.customers.get(customer_id)  # after the classification write: its version
            if profile is None or profile.erased:
                return 0
            try:
                answer = self._convert_at(profile, key, ref_date)
            except (VersionConflict, Throttled):
                self.sleep(min(0.05 * 2**attempt, 1.0))
                continue
            except DuplicateRedemption:
                stored = self.redemptions.get_redemption(key)
                if stored is not None:  # at least once: the events again, same ids
                    self._publish(customer_id, stored.response, profile)
                return 0
            if answer is None:
                return 0
            self._publish(customer_id, answer, profile)
            return len(answer["vouchers"])
        raise VersionConflict(f"{customer_id}: season conversion still conflicting")

    def _convert_at(self, profile: Profile, key: str, ref_date: date) -> dict[str, Any] | None:
        blocks = blocks_of(available(profile, self.programme, ref_date), self.programme)
        if not blocks:
            return None
        vouchers_cfg = self.programme.vouchers
        points = blocks * vouchers_cfg.block_points
        try:
            spent = spend(profile, self.programme, points, ref_date)
        except InsufficientPoints:
            return None
        issued = self.now()
        expires_on, expires_at = voucher_expiry(issued, self.programme)
        vouchers = [
            Voucher(
                code=new_voucher_code(),
                customer_id=profile.customer_id,
                redemption_id=key,
                points=vouchers_cfg.block_points,
                value=vouchers_cfg.block_value,
                currency=self.programme.currency,
                issued_at=iso_utc_precise(issued),
                expires_on=expires_on,
                expires_at=expires_at,
                cause="season",
            )
            for _ in range(blocks)
        ]
        answer = {
            "redemption_id": key,
            "points_redeemed": points,
            "points_balance": available(spent, self.programme, ref_date),
            "vouchers": [voucher_view(v, issued) for v in vouchers],
        }
        record = Redemption(
            key, profile.customer_id, points, iso_utc_precise(issued), vouchers[0].code, answer
        )
        self.redemptions.redeem(
            record,
            vouchers[0],
            profile.version,
            spent.lots,
            total_after=profile.points_balance - points,
            more_vouchers=vouchers[1:],
        )
        return answer

    def _publish(self, customer_id: str, answer: dict[str, Any], profile: Profile) -> None:
        events = season_events(customer_id, answer, self.programme)
        reach = contactable(profile, self.programme.month_of(self.now()))
        self.publisher.publish(list(with_contactable(events, reach)))


def season_events(customer_id: str, answer: dict[str, Any], programme: Programme) -> list[DomainEvent]:
    """One VoucherIssued per voucher, cause `season`; ids from the customer, the conversion and the
    voucher's place in it, so a republish sends the same ids."""
    after = int(answer["points_balance"])
    vouchers = answer["vouchers"]
    out = []
    for index, voucher in enumerate(vouchers):
        left = len(vouchers) - index - 1  # the balance right after this voucher's block
        one = {
            "redemption_id": answer["redemption_id"],
            "points_redeemed": voucher["points"],
            "points_balance": after + left * int(voucher["points"]),
            "voucher": voucher,
        }
        event = voucher_issued(customer_id, one, programme)
        out.append(
            DomainEvent(
                event.detail_type,
                event_id(customer_id, answer["redemption_id"], "voucher", str(index)),
                event.detail,
            )
        )
    return out
