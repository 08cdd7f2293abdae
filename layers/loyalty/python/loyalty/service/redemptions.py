"""Points to vouchers, and spending vouchers.

A redemption is one GetItem (the profile) and one TransactWriteItems: the redemption record (only if
its id is new), an UpdateItem of the profile (ADD points_balance -p, points_redeemed +p, version +1,
only at the version read, only if the balance covers p, only if not erased) and the voucher. Ingest
writes the profile with a full Put conditioned on `version`, so bumping it here makes a concurrent
purchase re-read rather than overwrite the redemption. Policies: docs/redemptions.md.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

from loyalty.domain.dates import iso_utc_precise
from loyalty.domain.lots import InsufficientPoints, available, grant, spend
from loyalty.domain.members import contactable, is_blocked
from loyalty.domain.profile import Profile
from loyalty.errors import ApiError, field_error
from loyalty.events import DetailType, DomainEvent, ab_bucket, event_id, with_contactable
from loyalty.money import format_amount
from loyalty.ports import (
    CustomerStore,
    DuplicateRedemption,
    EventPublisher,
    Redemption,
    RedemptionStore,
    Throttled,
    VersionConflict,
    Voucher,
    VoucherNotUsable,
)
from loyalty.programme import Programme
from loyalty.service.members import member_blocked_error
from loyalty.service.retry import attempts

# Crockford's base32: no I, L, O or U, so a code read aloud or retyped is not misread.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16  # 16 x 5 bits = 80 bits from `secrets`
CODE_GROUP = 4
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
MAX_VOUCHER_PAGE = 100


def new_voucher_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def normalise_code(text: str) -> str | None:
    """What a till may send (lower case, no dashes, O for 0) -> the stored form, or None if malformed."""
    raw = text.upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        return None
    return "-".join(raw[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def voucher_expiry(
    issued_at: datetime, programme: Programme, valid_days: int | None = None
) -> tuple[str, str]:
    """(expires_on, expires_at): valid through the day `valid_days` (default the programme's
    vouchers.valid_days) after the issue day (programme zone), i.e. until the start of the following
    day there."""
    issue_day = issued_at.astimezone(programme.zone).date()
    last_day = issue_day + timedelta(days=programme.vouchers.valid_days if valid_days is None else valid_days)
    end = datetime.combine(last_day + timedelta(days=1), dtime(0), tzinfo=programme.zone)
    return last_day.isoformat(), iso_utc_precise(end)


def voucher_status(voucher: Voucher, now: datetime) -> str:
    if voucher.status in ("used", "cancelled"):  # final: expiry no longer matters
        return voucher.status
    return "expired" if iso_utc_precise(now) >= voucher.expires_at else "issued"


def voucher_view(voucher: Voucher, now: datetime) -> dict[str, Any]:
    return {
        "code": voucher.code,
        "status": voucher_status(voucher, now),
        "value": format_amount(voucher.value, voucher.currency),
        "currency": voucher.currency,
        "points": voucher.points,
        "redemption_id": voucher.redemption_id,
        "issued_at": voucher.issued_at,
        "expires_on": voucher.expires_on,
        "used_at": voucher.used_at,
        "use_id": voucher.use_id,
        "cancelled_at": voucher.cancelled_at,
        "kind": voucher.kind,
        **({"percent": voucher.percent} if voucher.percent is not None else {}),
        "cause": voucher.cause,
    }


def voucher_issued(customer_id: str, answer: dict[str, Any], programme: Programme) -> DomainEvent:
    """VoucherIssued; the id depends only on the customer and the redemption, so a replay republishes
    the same id and consumers drop the duplicate (fields as events.VoucherIssuedDetail)."""
    voucher = answer["voucher"]
    balance = int(answer["points_balance"])
    points = int(answer["points_redeemed"])
    return DomainEvent(
        DetailType.VOUCHER_ISSUED,
        event_id(customer_id, answer["redemption_id"], "voucher"),
        {
            "customer_id": customer_id,
            "period": programme.month_of(datetime.fromisoformat(voucher["issued_at"])),
            "redemption_id": answer["redemption_id"],
            "voucher_id": voucher["code"],
            "points": points,
            "value": voucher["value"],
            "currency": voucher["currency"],
            "valid_until": voucher["expires_on"],
            "before": {"points_balance": balance + points},
            "after": {"points_balance": balance},
            "ab_bucket": ab_bucket(customer_id),
            "cause": voucher.get("cause", "redemption"),
            "kind": voucher.get("kind", "value"),
            "percent": voucher.get("percent"),
        },
    )


def voucher_cancelled(voucher: Voucher, programme: Programme) -> DomainEvent:
    """VoucherCancelled; the id depends only on the customer and the code, so a retried cancel
    republishes the same id (fields as events.VoucherCancelledDetail)."""
    assert voucher.cancelled_at is not None and voucher.balance_after_cancel is not None
    after = voucher.balance_after_cancel
    return DomainEvent(
        DetailType.VOUCHER_CANCELLED,
        event_id(voucher.customer_id, voucher.code, "voucher-cancelled"),
        {
            "customer_id": voucher.customer_id,
            "period": programme.month_of(datetime.fromisoformat(voucher.cancelled_at)),
            "redemption_id": voucher.redemption_id,
            "voucher_id": voucher.code,
            "points": voucher.points,
            "value": format_amount(voucher.value, voucher.currency),
            "currency": voucher.currency,
            "cancelled_at": voucher.cancelled_at,
            "before": {"points_balance": after - voucher.points},
            "after": {"points_balance": after},
            "ab_bucket": ab_bucket(voucher.customer_id),
        },
    )


def voucher_not_usable(current: Voucher | None) -> ApiError:
    """Why a voucher cannot be used or cancelled now: 404 unknown, 409 used or cancelled (a final
    state, like used), 410 expired (time ran out: the one answer a till shows as "expired")."""
    if current is None:
        return ApiError(404, "voucher_not_found", "code: no such voucher")
    if current.status == "used":
        return ApiError(
            409,
            "voucher_used",
            f"code: already used at {current.used_at}",
            [{"field": "code", "message": "already used"}],
        )
    if current.status == "cancelled":
        return ApiError(
            409,
            "voucher_cancelled",
            f"code: cancelled at {current.cancelled_at}; its points went back to the card",
            [{"field": "code", "message": "cancelled"}],
        )
    return ApiError(
        410,
        "voucher_expired",
        f"code: expired after {current.expires_on}",
        [{"field": "code", "message": f"valid until {current.expires_on}"}],
    )


def insufficient_points(short: InsufficientPoints) -> ApiError:
    """409: spending (a redemption, a negative adjustment) more than can be spent now."""
    if short.available < 0:
        message = (
            f"points: the balance is negative ({short.available}) after a return of redeemed "
            "points; redemptions are blocked until it is positive again"
        )
    else:
        message = f"points: the balance ({short.available}) does not cover {short.wanted}"
    return ApiError(
        409,
        "insufficient_points",
        message,
        [{"field": "points", "message": f"at most {max(short.available, 0)} available"}],
    )


def _not_found(customer_id: str) -> ApiError:
    return ApiError(404, "customer_not_found", f"customer_id: no customer {customer_id!r}")


@dataclass
class RedemptionService:
    customers: CustomerStore
    redemptions: RedemptionStore
    publisher: EventPublisher
    programme: Programme
    max_attempts: int = 30
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    conflicts: int = 0

    # -- redemptions --------------------------------------------------------------------------

    def redeem(self, customer_id: str, redemption_id: str, points: int) -> tuple[int, dict[str, Any]]:
        """(201, answer). Same redemption again -> the first answer (and its event again); the same id
        with another customer or amount -> 409; a balance short of `points` -> 409."""
        block = self.programme.vouchers.block_points
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            raise field_error("points", "must be a positive whole number")
        if points % block:
            raise field_error("points", f"must be a multiple of {block} (one voucher block)", 422)
        for _ in attempts(self.max_attempts, self.sleep, self._conflict):
            try:
                answer, profile = self._try_redeem(customer_id, redemption_id, points)
            except (VersionConflict, Throttled):
                continue
            except DuplicateRedemption as exc:
                return self._replay(customer_id, redemption_id, points, getattr(exc, "profile", None))
            event = voucher_issued(customer_id, answer, self.programme)
            self.publisher.publish(self._stamped(event, profile))
            return 201, {"customer_id": customer_id, **answer}
        raise _busy()

    def _conflict(self) -> None:
        self.conflicts += 1

    def _stamped(self, event: DomainEvent, profile: Profile | None) -> list[DomainEvent]:
        """The event with `contactable` (the member's consents and status; a replay reads the profile)."""
        if profile is None:
            profile = self.customers.get(str(event.detail["customer_id"]))
        month = self.programme.month_of(self.now())
        return list(with_contactable([event], contactable(profile, month)))

    def _try_redeem(
        self, customer_id: str, redemption_id: str, points: int
    ) -> tuple[dict[str, Any], Profile]:
        profile = self.customers.get(customer_id)
        try:
            return self._redeem_at(profile, customer_id, redemption_id, points)
        except DuplicateRedemption as exc:
            exc.profile = profile  # type: ignore[attr-defined]  # the replay's event: no second read
            raise

    def _redeem_at(
        self, profile: Profile | None, customer_id: str, redemption_id: str, points: int
    ) -> tuple[dict[str, Any], Profile]:
        if profile is None or profile.erased:  # erased: even a replay answers 404 (no data kept)
            raise _not_found(customer_id)
        if is_blocked(profile):
            self._raise_unless_duplicate(redemption_id, member_blocked_error())
        issued = self.now()
        today = issued.astimezone(self.programme.zone).date()
        try:
            spent = spend(profile, self.programme, points, today)
        except InsufficientPoints as short:
            self._raise_unless_duplicate(redemption_id, insufficient_points(short))
        balance = available(spent, self.programme, today)
        expires_on, expires_at = voucher_expiry(issued, self.programme)
        value = points // self.programme.vouchers.block_points * self.programme.vouchers.block_value
        voucher = Voucher(
            code=new_voucher_code(),
            customer_id=customer_id,
            redemption_id=redemption_id,
            points=points,
            value=value,
            currency=self.programme.currency,
            issued_at=iso_utc_precise(issued),
            expires_on=expires_on,
            expires_at=expires_at,
        )
        answer = {
            "redemption_id": redemption_id,
            "points_redeemed": points,
            "points_balance": balance,
            "voucher": voucher_view(voucher, issued),
        }
        record = Redemption(redemption_id, customer_id, points, iso_utc_precise(issued), voucher.code, answer)
        # total_after: what the store's ADD leaves, kept in the ledger's entry of the same transaction
        self.redemptions.redeem(
            record, voucher, profile.version, spent.lots, total_after=profile.points_balance - points
        )
        return answer, profile

    def _raise_unless_duplicate(self, redemption_id: str, error: ApiError) -> None:
        """A retried redemption finds the balance already spent (or the id known): replay it."""
        if self.redemptions.get_redemption(redemption_id) is not None:
            raise DuplicateRedemption(redemption_id)
        raise error

    def _replay(
        self, customer_id: str, redemption_id: str, points: int, profile: Profile | None = None
    ) -> tuple[int, dict[str, Any]]:
        stored = self.redemptions.get_redemption(redemption_id)
        if stored is None or stored.customer_id != customer_id or stored.points != points:
            raise ApiError(
                409,
                "redemption_conflict",
                "redemption_id: already used for a different redemption",
                [{"field": "redemption_id", "message": "already used with other content"}],
            )
        answer = dict(stored.response)
        # At least once: an event lost to a crash after the write goes out on the retry (same id).
        self.publisher.publish(self._stamped(voucher_issued(customer_id, answer, self.programme), profile))
        return 201, {"customer_id": customer_id, **answer}

    # -- vouchers -----------------------------------------------------------------------------

    def list_vouchers(self, customer_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        if not 1 <= limit <= MAX_VOUCHER_PAGE:
            raise field_error("limit", f"must be between 1 and {MAX_VOUCHER_PAGE}")
        profile = self.customers.get(customer_id)
        if profile is None or profile.erased:
            raise _not_found(customer_id)
        try:
            page = self.redemptions.vouchers(customer_id, limit, cursor)
        except ValueError as exc:
            raise field_error("cursor", str(exc)) from exc
        now = self.now()
        return {"items": [voucher_view(v, now) for v in page.items], "next_cursor": page.next_cursor}

    def use_voucher(self, code: str, use_id: str | None = None) -> dict[str, Any]:
        """Spend a voucher exactly once: 404 unknown, 409 already used or cancelled, 410 expired. With
        `use_id`, the till's retry of the same use finds the voucher used by that id and gets the first
        answer again (200); another id, or none, still gets 409."""
        canonical = _canonical(code)
        now = self.now()
        for _ in attempts(self.max_attempts, self.sleep, self._conflict):
            try:
                return voucher_view(
                    self.redemptions.use_voucher(canonical, iso_utc_precise(now), use_id), now
                )
            except Throttled:  # a racing cancel's transaction held the voucher: try again
                continue
            except VoucherNotUsable as exc:
                current = exc.voucher
                if use_id is not None and _used_by(current, use_id):  # the same till's retry
                    return voucher_view(current, now)  # type: ignore[arg-type]
                raise voucher_not_usable(current) from exc
        raise _busy()

    # -- back office --------------------------------------------------------------------------

    def cancel_voucher(self, code: str) -> dict[str, Any]:
        """Void an unused voucher and give its points back to the card, once: the voucher and the
        profile change in one transaction conditioned on the voucher being issued, so of a cancel and a
        use racing exactly one wins, and a retried cancel answers as the first time (200, same body,
        the same VoucherCancelled id again) without giving the points twice."""
        canonical = _canonical(code)
        for _ in attempts(self.max_attempts, self.sleep, self._conflict):
            voucher = self.redemptions.get_voucher(canonical)
            if voucher is not None and voucher.status == "cancelled":
                return self._cancelled(voucher, None)  # a retry (or a second clerk): the first answer
            now = self.now()
            if voucher is None or voucher_status(voucher, now) != "issued":
                raise voucher_not_usable(voucher)
            profile = self.customers.get(voucher.customer_id)
            if profile is None or profile.erased:
                raise ApiError(
                    409,
                    "customer_erased",
                    "code: the voucher's customer was erased; there is no card to give the points back to",
                    [{"field": "code", "message": "customer erased"}],
                )
            today = now.astimezone(self.programme.zone).date()
            given = grant(profile, self.programme, voucher.points, today)
            balance_after = available(given, self.programme, today)
            try:
                cancelled = self.redemptions.cancel_voucher(
                    voucher,
                    iso_utc_precise(now),
                    profile.version,
                    balance_after,
                    given.lots,
                    total_after=profile.points_balance + voucher.points,
                )
            except (VersionConflict, Throttled):
                continue
            except VoucherNotUsable:  # used, cancelled or anonymised meanwhile: decide on a fresh read
                continue
            return self._cancelled(cancelled, profile)
        raise _busy()

    def _cancelled(self, voucher: Voucher, profile: Profile | None) -> dict[str, Any]:
        # At least once: an event lost to a crash after the write goes out on the retry (same id).
        self.publisher.publish(self._stamped(voucher_cancelled(voucher, self.programme), profile))
        return {
            "customer_id": voucher.customer_id,
            "points_returned": voucher.points,
            "points_balance": voucher.balance_after_cancel,
            "voucher": voucher_view(voucher, datetime.fromisoformat(str(voucher.cancelled_at))),
        }


def _used_by(voucher: Voucher | None, use_id: str) -> bool:
    return voucher is not None and voucher.status == "used" and voucher.use_id == use_id


def _canonical(code: str) -> str:
    canonical = normalise_code(code)
    if canonical is None:
        raise ApiError(404, "voucher_not_found", "code: no such voucher")
    return canonical


def _busy() -> ApiError:
    return ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")
