"""Erasure on request (GDPR): DELETE /v1/customers/{customer_id}.

The customer id is replaced everywhere by an irreversible token, HMAC-SHA256(pepper, customer_id),
so aggregates survive anonymously and nothing links them back without the secret pepper. Order,
so that a crash at any point is finished by a retry (the DELETE is idempotent):

1. mark the profile erased (and bump its version): reads answer 404 from here on, purchases, returns
   and redemptions are refused (409 customer_erased), and one already in flight fails on the version,
   re-reads the profile and is refused too;
2. rewrite the customer's vouchers, redemptions and transactions to the token (UpdateItems conditioned
   on the old id, so a repeat is a no-op, sent 100 to a TransactWriteItems: 2,000 transactions take
   20 calls, inside API Gateway's 29 seconds);
3. in one TransactWriteItems: put the profile's aggregates under the token, delete the profile under
   the customer id (only at the version of step 1: a purchase that landed meanwhile sends us back to
   step 2) and record the erasure (token and time, no personal data). A cancelled transaction's
   reasons are read by item, not by position (pynamodb reorders the items).

Members (issue 16): the anonymous profile keeps no consent, consent history, preference or
interaction count, and the customer's interactions are deleted in step 2, with the customer's points
ledger (issue 14: its items are keyed by the customer id; the anonymous profile keeps the totals) and
the customer's referral code (issue 15: the code's items name the card; the cap counters hold only a
hash).

A DELETE for an id that is already erased re-runs step 2 (it finds nothing, or stragglers a crash or
an index lag left) and answers 204 again. Policies: docs/redemptions.md.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from loyalty.domain.members import without_member
from loyalty.errors import ApiError
from loyalty.ports import (
    ErasureStore,
    LedgerStore,
    MemberStore,
    ProfileKeyTaken,
    RewardStore,
    VersionConflict,
)

TOKEN_PREFIX = "anon-"
MAX_PROFILE_KEYS = 20  # a card number reused and erased again goes under token.2, token.3...


def erasure_token(customer_id: str, pepper: str) -> str:
    digest = hmac.new(pepper.encode(), customer_id.encode(), hashlib.sha256).hexdigest()
    return TOKEN_PREFIX + digest


@dataclass
class ErasureService:
    erasures: ErasureStore
    pepper: str
    max_attempts: int = 10
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep
    members: MemberStore | None = None  # interactions are deleted, not anonymised: they are behaviour
    ledger: LedgerStore | None = None  # the points ledger is deleted too: the aggregates keep the totals
    rewards: RewardStore | None = None  # the referral code and referrer items are deleted

    def erase(self, customer_id: str) -> dict[str, str]:
        """Erase the customer; 404 if there is no such customer and never was one erased."""
        token = erasure_token(customer_id, self.pepper)
        for attempt in range(self.max_attempts):
            if attempt:  # a concurrent write: back off a little, with jitter, and go round again
                self.sleep(min(0.5, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))
            profile = self.erasures.mark_erased(customer_id)
            if profile is None:
                record = self.erasures.erasure(token)
                if record is None:
                    raise ApiError(404, "customer_not_found", f"customer_id: no customer {customer_id!r}")
                self._sweep(customer_id, token)
                return {"status": "erased", "erased_at": record.erased_at}
            self._sweep(customer_id, token)
            erased_at = self.now().astimezone(UTC).isoformat(timespec="seconds")
            try:
                self._finish(profile, token, erased_at)
            except VersionConflict:
                continue  # written to meanwhile: sweep again what that write added
            return {"status": "erased", "erased_at": erased_at}
        raise ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")

    def _sweep(self, customer_id: str, token: str) -> None:
        self.erasures.anonymise_vouchers(customer_id, token)
        self.erasures.anonymise_transactions(customer_id, token)
        if self.members is not None:
            self.members.delete_interactions(customer_id)
        if self.ledger is not None:
            self.ledger.delete_entries(customer_id)
        if self.rewards is not None:
            self.rewards.forget_referrals(customer_id)

    def _finish(self, profile, token: str, erased_at: str) -> None:  # type: ignore[no-untyped-def]
        for n in range(1, MAX_PROFILE_KEYS + 1):
            key = token if n == 1 else f"{token}.{n}"
            try:
                # Consents, their history, preferences and interaction counts go with the id.
                self.erasures.finish(without_member(profile), key, token, erased_at)
                return
            except ProfileKeyTaken:
                continue
        raise ApiError(409, "erasure_conflict", "customer_id: erased too many times to keep apart")
