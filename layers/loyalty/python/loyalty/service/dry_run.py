"""A dry run of the monthly reclassification (`loyalty simulate`, the state machine's dry-run input):
the same steps over the same fan-out, under a candidate programme, writing no profile and publishing
no event. The run's service swaps its ports for these: a scan that reads and refuses every write, a
publisher that refuses every event. The classify pass does not call them on a dry run; they are there
so that a path that would write or publish fails loudly instead of changing a customer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from loyalty.domain.profile import Profile
from loyalty.events import DomainEvent
from loyalty.ports import CustomerScan
from loyalty.programme import parse_programme


class DryRunWrite(RuntimeError):
    """Something tried to write a profile or publish an event during a dry run."""


@dataclass
class ReadOnlyScan:
    """The scan of the real store; every write refused."""

    store: CustomerScan

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        return self.store.scan_segment(segment, total_segments)

    def get(self, customer_id: str) -> Profile | None:
        return self.store.get(customer_id)

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        raise DryRunWrite(f"a dry run does not write profiles (tried {profile.customer_id})")

    def approximate_count(self) -> int | None:
        return getattr(self.store, "approximate_count", lambda: None)()


class RefusingPublisher:
    def publish(self, events: Sequence[DomainEvent]) -> None:
        raise DryRunWrite(f"a dry run publishes nothing (tried {len(events)} event(s))")


def candidate_source(programme: Any, read: Any) -> dict[str, Any]:
    """The candidate programme's JSON: given inline (an object), or the key of a JSON document in the
    run bucket (a string, read with `read`). Validated here, so a bad candidate fails at prepare with
    the key it got wrong (programme.ProgrammeError)."""
    if isinstance(programme, str):
        document = read(programme)
        if document is None:
            raise ValueError(f"programme: no document at {programme!r} in the run bucket")
        programme = document
    parse_programme(programme)
    return dict(programme)
