"""The points lifecycle: pending points, lots and their expiry, spending nearest-expiry first. Pure:
every function takes the day (programme zone) as a parameter; nothing here reads a clock.

What the profile keeps (domain/profile.py):
- `lots`: {lot key: points}, the points not yet booked as expired, pending ones included. The key is
  the programme month of earning ('YYYY-MM'); under the inactivity policy every point shares one
  expiry date, so they are one lot, INACTIVITY_LOT.
- `pending`: {earning day 'YYYY-MM-DD': points} still inside the return window. They become
  spendable on day + pending_days by the date alone (no job releases them); entries past their
  release are dropped at the next write.
- `points_balance - sum(lots)`: 0 normally. Positive: points from before lots existed (read as a lot
  of the last purchase's month). Negative: a debt, a return of points already spent (documented
  policy: the balance goes negative), paid from the next points that become spendable.

Invariant (tests/unit/test_lots_properties.py): available + pending == earned - returned - redeemed -
expired + adjusted, where `expired` counts the lots past their date whether or not the monthly run has
booked them; no lot is ever negative; a lot past its date is never spendable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from loyalty.domain.dates import add_months, add_months_to_day, last_day
from loyalty.domain.profile import Profile
from loyalty.programme import Programme

INACTIVITY_LOT = "*"
MAX_EXPIRING_SHOWN = 3  # the card lists the next three expiry dates


class InsufficientPoints(ValueError):
    """Spending more than the spendable balance (HTTP 409 insufficient_points)."""

    def __init__(self, available: int, wanted: int) -> None:
        super().__init__(f"the balance ({available}) does not cover {wanted}")
        self.available = available
        self.wanted = wanted


# ---------------------------------------------------------------------------------------------
# Dates: the one home of the release and expiry rules.


def lot_key(day: date, programme: Programme) -> str:
    return INACTIVITY_LOT if programme.expiry_policy == "inactivity" else day.isoformat()[:7]


def release_day(earned_on: str, programme: Programme) -> date:
    """The first day the points of a purchase made on `earned_on` can be spent."""
    return date.fromisoformat(earned_on) + timedelta(days=programme.pending_days)


def is_pending(earned_on: date, programme: Programme, today: date) -> bool:
    return release_day(earned_on.isoformat(), programme) > today


def expires_on(key: str, programme: Programme, last_purchase: date | None) -> date | None:
    """The last day a lot can be spent (programme zone); None: nothing to expire it yet.

    inactivity: the day before `months_without_purchase` months after the last purchase (the whole
    balance); rolling: the last day of the `months`-th month after the earning month; calendar: 31
    December of the earning year plus `years`. A legacy or inactivity lot under another policy has
    no month: it expires as under inactivity."""
    if programme.expiry_policy == "inactivity" or key == INACTIVITY_LOT:
        if last_purchase is None:
            return None
        return add_months_to_day(last_purchase, programme.expiry_months) - timedelta(days=1)
    if programme.expiry_policy == "rolling":
        return last_day(add_months(key, programme.expiry_rolling_months))
    return date(int(key[:4]) + programme.expiry_calendar_years, 12, 31)


def _last_purchase(profile: Profile, programme: Programme) -> date | None:
    if not profile.last_purchase_at:
        return None
    return datetime.fromisoformat(profile.last_purchase_at).astimezone(programme.zone).date()


# ---------------------------------------------------------------------------------------------
# The view of a profile's points on a day.


@dataclass(frozen=True)
class Lot:
    key: str
    points: int  # pending included
    pending: int
    expires_on: date | None
    expired: bool

    @property
    def spendable(self) -> int:
        return 0 if self.expired else self.points - self.pending


@dataclass(frozen=True)
class Points:
    """A profile's points on `today`: what the card shows and what spending may take."""

    lots: tuple[Lot, ...]  # nearest expiry first
    debt: int
    pending_release: tuple[tuple[int, date], ...]  # (points, available_on), soonest first

    @property
    def available(self) -> int:
        return sum(lot.spendable for lot in self.lots) - self.debt

    @property
    def pending(self) -> int:
        return sum(lot.pending for lot in self.lots if not lot.expired)

    @property
    def expired_due(self) -> int:
        """Points past their date the monthly run has not booked yet (never spendable)."""
        return sum(lot.points for lot in self.lots if lot.expired)

    def expiring(self, limit: int = MAX_EXPIRING_SHOWN) -> list[tuple[int, date]]:
        """(points, expires_on) of the live lots, soonest first."""
        live = [(lot.points, lot.expires_on) for lot in self.lots if not lot.expired and lot.points]
        return [(p, d) for p, d in live if d is not None][:limit]


def _lots_and_debt(profile: Profile, programme: Programme, today: date) -> tuple[dict[str, int], int]:
    lots = {k: int(v) for k, v in profile.lots.items() if v}
    unlotted = profile.points_balance - sum(lots.values())
    if unlotted > 0:  # points from before lots: a lot of the last purchase's month
        key = lot_key(_last_purchase(profile, programme) or today, programme)
        lots[key] = lots.get(key, 0) + unlotted
        return lots, 0
    return lots, -unlotted


def _still_pending(pending: Mapping[str, int], programme: Programme, today: date) -> dict[str, int]:
    return {d: int(p) for d, p in pending.items() if p > 0 and release_day(d, programme) > today}


def points_on(profile: Profile, programme: Programme, today: date) -> Points:
    lots, debt = _lots_and_debt(profile, programme, today)
    pending = _still_pending(profile.pending, programme, today)
    last = _last_purchase(profile, programme)
    pending_of: dict[str, int] = {}
    for day, points in pending.items():
        key = lot_key(date.fromisoformat(day), programme)
        pending_of[key] = pending_of.get(key, 0) + points
    views = []
    for key, points in lots.items():
        ends = expires_on(key, programme, last)
        views.append(
            Lot(key, points, min(points, pending_of.get(key, 0)), ends, ends is not None and ends < today)
        )
    views.sort(key=lambda lot: (lot.expires_on or date.max, lot.key))
    releases: dict[date, int] = {}
    for day, points in pending.items():
        on = release_day(day, programme)
        releases[on] = releases.get(on, 0) + points
    return Points(tuple(views), debt, tuple((p, on) for on, p in sorted(releases.items())))


def available(profile: Profile, programme: Programme, today: date) -> int:
    return points_on(profile, programme, today).available


# ---------------------------------------------------------------------------------------------
# Movements. Each returns the profile with lots, pending and points_balance moved together.


def _written(
    profile: Profile,
    programme: Programme,
    today: date,
    lots: dict[str, int],
    pending: dict[str, int],
    debt: int,
) -> Profile:
    if debt > 0:  # a debt is paid from spendable points as soon as there are some (never expired ones)
        debt = _take(profile, programme, today, lots, pending, debt)
    kept_lots = {k: v for k, v in sorted(lots.items()) if v}
    kept_pending = dict(sorted(_still_pending(pending, programme, today).items()))
    return replace(
        profile, lots=kept_lots, pending=kept_pending, points_balance=sum(kept_lots.values()) - debt
    )


def _take(
    profile: Profile,
    programme: Programme,
    today: date,
    lots: dict[str, int],
    pending: dict[str, int],
    points: int,
) -> int:
    """Take up to `points` from the spendable part of the lots, nearest expiry first; the rest not taken."""
    view = points_on(
        replace(profile, lots=lots, pending=pending, points_balance=sum(lots.values())), programme, today
    )
    for lot in view.lots:
        if points <= 0:
            break
        part = min(points, lot.spendable)
        if part > 0:
            lots[lot.key] -= part
            points -= part
    return points


def earn(profile: Profile, programme: Programme, earned_on: date, points: int, today: date) -> Profile:
    """Points of a purchase made on `earned_on`: pending until its release day, in the lot of its month."""
    lots, debt = _lots_and_debt(profile, programme, today)
    pending = dict(profile.pending)
    key = lot_key(earned_on, programme)
    lots[key] = lots.get(key, 0) + points
    day = earned_on.isoformat()
    if points > 0 and is_pending(earned_on, programme, today):
        pending[day] = pending.get(day, 0) + points
    return _written(profile, programme, today, lots, pending, debt)


def grant(profile: Profile, programme: Programme, points: int, today: date) -> Profile:
    """Points given today and spendable at once (a positive adjustment, a cancelled voucher's
    points): a lot earned today, expiring by the policy."""
    lots, debt = _lots_and_debt(profile, programme, today)
    key = lot_key(today, programme)
    lots[key] = lots.get(key, 0) + points
    return _written(profile, programme, today, lots, dict(profile.pending), debt)


def take_back(
    profile: Profile, programme: Programme, earned_on: date, points: int, today: date
) -> tuple[Profile, int]:
    """A return's points: from the purchase's own pending points first, then from the spendable
    balance nearest expiry first; what is still missing becomes a debt (a negative balance).
    Returns (profile, points taken from pending)."""
    lots, debt = _lots_and_debt(profile, programme, today)
    pending = dict(profile.pending)
    day = earned_on.isoformat()
    key = lot_key(earned_on, programme)
    own = pending.get(day, 0) if release_day(day, programme) > today else 0
    from_pending = min(points, own, lots.get(key, 0))
    if from_pending:
        pending[day] = own - from_pending
        lots[key] -= from_pending
    missing = _take(profile, programme, today, lots, pending, points - from_pending)
    return _written(profile, programme, today, lots, pending, debt + missing), from_pending


def spend(profile: Profile, programme: Programme, points: int, today: date) -> Profile:
    """A redemption or a negative adjustment: only spendable points, nearest expiry first."""
    have = available(profile, programme, today)
    if points > have:
        raise InsufficientPoints(have, points)
    lots, debt = _lots_and_debt(profile, programme, today)
    pending = dict(profile.pending)
    left = _take(profile, programme, today, lots, pending, points)
    assert left == 0, left  # available covered it
    return _written(profile, programme, today, lots, pending, debt)


def expire(
    profile: Profile, programme: Programme, today: date, view: Points | None = None
) -> tuple[Profile, list[tuple[str, int, date]]]:
    """Book the lots past their date: (profile, [(lot key, points, expires_on)]) with the points moved
    from the balance to points_expired. Booking again the same day finds nothing. `view`: the
    profile's points_on(today) when the caller has it already."""
    view = view if view is not None else points_on(profile, programme, today)
    taken = [(lot.key, lot.points, lot.expires_on) for lot in view.lots if lot.expired and lot.points]
    if not taken:
        return profile, []
    lots, debt = _lots_and_debt(profile, programme, today)
    for key, _, _ in taken:
        lots.pop(key, None)
    pending = {d: p for d, p in profile.pending.items() if lot_key(date.fromisoformat(d), programme) in lots}
    total = sum(points for _, points, _ in taken)
    updated = replace(profile, points_expired=profile.points_expired + total)
    return _written(updated, programme, today, lots, pending, debt), [(k, p, d) for k, p, d in taken if d]


def warnings_due(
    profile: Profile, programme: Programme, today: date, until: date, view: Points | None = None
) -> list[tuple[str, int, date]]:
    """Live lots whose PointsExpiring falls due before `until` (expires_on - warn_days < until) and
    that no earlier warning covered (expires_on after expiry_warned_through): once per lot. `view`:
    the profile's points_on(today) when the caller has it already."""
    warned = date.fromisoformat(profile.expiry_warned_through) if profile.expiry_warned_through else None
    due = []
    for lot in (view if view is not None else points_on(profile, programme, today)).lots:
        if lot.expired or lot.points <= 0 or lot.expires_on is None:
            continue
        if lot.expires_on - timedelta(days=programme.expiry_warn_days) >= until:
            continue
        if warned is not None and lot.expires_on <= warned:
            continue
        due.append((lot.key, lot.points, lot.expires_on))
    return due
