"""Back-office adjustments (POST /v1/customers/{id}/adjustments and `loyalty adjust FILE.csv`): one
GetItem (the profile), then one TransactWriteItems (the record, only if its id is new, and the
profile's points at the version read). Idempotent by adjustment_id: the same content again answers as
the first time (and sends the same PointsAdjusted id); other content is 409. A positive adjustment is a
lot earned today (it expires by the policy); a negative one takes spendable points, nearest expiry
first, and is 409 insufficient_points above the spendable balance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loyalty.domain.content_hash import content_hash
from loyalty.domain.dates import iso_utc_precise
from loyalty.domain.lots import InsufficientPoints, grant, points_on, spend
from loyalty.errors import ApiError, all_of, field_error
from loyalty.events import DetailType, DomainEvent, ab_bucket, event_id
from loyalty.ports import (
    Adjustment,
    AdjustmentStore,
    CustomerStore,
    DuplicateAdjustment,
    EventPublisher,
    Throttled,
    VersionConflict,
)
from loyalty.programme import Programme
from loyalty.service.redemptions import insufficient_points
from loyalty.service.retry import attempts

REASONS = ("goodwill", "correction", "migration", "promotion", "other")
MAX_NOTE = 500
MAX_POINTS = 10_000_000  # one adjustment; a larger figure is a typo, not a goodwill gesture


@dataclass(frozen=True)
class AdjustmentRequest:
    customer_id: str
    adjustment_id: str
    points: int
    reason: str
    note: str = ""

    def check(self) -> None:
        problems: list[ApiError] = []
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points == 0:
            problems.append(field_error("points", "must be a non-zero whole number"))
        elif abs(self.points) > MAX_POINTS:
            problems.append(field_error("points", f"must be between -{MAX_POINTS} and {MAX_POINTS}"))
        if self.reason not in REASONS:
            problems.append(field_error("reason", f"{self.reason!r} is not one of {', '.join(REASONS)}"))
        if not isinstance(self.note, str) or len(self.note) > MAX_NOTE:
            problems.append(field_error("note", f"must be text of at most {MAX_NOTE} characters"))
        if not self.adjustment_id or len(self.adjustment_id) > 128:
            problems.append(field_error("adjustment_id", "must be 1 to 128 characters"))
        if problems:
            raise all_of(problems)

    @property
    def content_hash(self) -> str:
        content = [self.customer_id, self.points, self.reason, self.note]
        return content_hash(content)


def points_adjusted(customer_id: str, answer: dict[str, Any], programme: Programme) -> DomainEvent:
    """PointsAdjusted (fields as events.PointsAdjustedDetail); its id depends only on the customer and
    the adjustment, so a replay republishes the same id."""
    return DomainEvent(
        DetailType.POINTS_ADJUSTED,
        event_id(customer_id, answer["adjustment_id"], "adjusted"),
        {
            "customer_id": customer_id,
            "period": programme.month_of(datetime.fromisoformat(answer["created_at"])),
            "adjustment_id": answer["adjustment_id"],
            "points": answer["points"],
            "reason": answer["reason"],
            "before": {"points_balance": answer["balance_before"]},
            "after": {"points_balance": answer["points_balance"]},
            "ab_bucket": ab_bucket(customer_id),
        },
    )


def conflict_error() -> ApiError:
    return ApiError(
        409,
        "adjustment_conflict",
        "adjustment_id: already used for a different adjustment",
        [{"field": "adjustment_id", "message": "already used with other content"}],
    )


@dataclass
class AdjustmentService:
    customers: CustomerStore
    adjustments: AdjustmentStore
    publisher: EventPublisher
    programme: Programme
    max_attempts: int = 30
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    conflicts: int = 0

    def adjust(self, request: AdjustmentRequest) -> tuple[int, dict[str, Any]]:
        request.check()
        for _ in attempts(self.max_attempts, self.sleep, self._conflict):
            try:
                answer = self._try(request)
            except (VersionConflict, Throttled):
                continue
            except DuplicateAdjustment:
                return self._replay(request)
            self.publisher.publish([points_adjusted(request.customer_id, answer, self.programme)])
            return 201, self._shown(request, answer)
        raise ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")

    def _conflict(self) -> None:
        self.conflicts += 1

    def _try(self, request: AdjustmentRequest) -> dict[str, Any]:
        profile = self.customers.get(request.customer_id)
        if profile is None or profile.erased:
            raise ApiError(404, "customer_not_found", f"customer_id: no customer {request.customer_id!r}")
        at = self.now()
        today = at.astimezone(self.programme.zone).date()
        before = points_on(profile, self.programme, today)
        try:
            if request.points > 0:
                after = grant(profile, self.programme, request.points, today)
            else:
                after = spend(profile, self.programme, -request.points, today)
        except InsufficientPoints as short:
            # A retried negative adjustment finds its points already taken: replay it.
            if self.adjustments.get_adjustment(request.adjustment_id) is not None:
                raise DuplicateAdjustment(request.adjustment_id) from short
            raise insufficient_points(short) from short
        view = points_on(after, self.programme, today)
        answer = {
            "adjustment_id": request.adjustment_id,
            "points": request.points,
            "reason": request.reason,
            "created_at": iso_utc_precise(at),
            "balance_before": before.available,
            "points_balance": view.available,
            "points_pending": view.pending,
        }
        record = Adjustment(request.adjustment_id, request.content_hash, iso_utc_precise(at), answer)
        assert after.points_balance - profile.points_balance == request.points
        self.adjustments.adjust(
            record,
            request.customer_id,
            request.points,
            after.lots,
            profile.version,
            total_after=profile.points_balance + request.points,
        )
        return answer

    def _replay(self, request: AdjustmentRequest) -> tuple[int, dict[str, Any]]:
        stored = self.adjustments.get_adjustment(request.adjustment_id)
        if stored is None or stored.content_hash != request.content_hash:
            raise conflict_error()
        answer = dict(stored.response)
        # At least once: an event lost to a crash after the write goes out on the retry (same id).
        self.publisher.publish([points_adjusted(request.customer_id, answer, self.programme)])
        return 201, self._shown(request, answer)

    @staticmethod
    def _shown(request: AdjustmentRequest, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer as sent: the stored one (nothing personal) plus the request's customer and note."""
        shown = {k: v for k, v in answer.items() if k != "balance_before"}
        return {"customer_id": request.customer_id, **shown, "note": request.note}
