"""The monthly classification gives bit-for-bit the same outcomes as the code it was measured on
(issue 19 item 5: classify made cheaper without changing any result).

A seeded population (the bench's purchase histories through the real earning rules, some erased,
some members who interacted) goes through two monthly runs of the real service on the fakes, for
each programme in programmes/: every profile written, every event published (detail type, id and
detail) and every tally, serialised canonically, hashed. The digest was computed on the code before
the item-5 changes (commit 'golden digest of the classification'); a change that moves any result
moves it.

If a change is *meant* to move results (a new rule, another helper's segment change), regenerate:
    .venv/bin/python -m tests.unit.test_classify_golden
and say in the commit why the outcomes moved.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
from loyalty.programme import load_programme
from loyalty.service.reclassify import ReclassifyService, run_steps

from bench.reclassify_bench import templates

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "classify_golden.json"
PROGRAMMES = sorted(p.name for p in (REPO / "programmes").iterdir() if p.suffix in (".json", ".yaml"))
MONTHS = (date(2026, 3, 1), date(2026, 4, 1))
CUSTOMERS = 600


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (Fraction,)) or type(value).__name__ == "Decimal":
        return f"{type(value).__name__}:{value}"
    if isinstance(value, (date,)):
        return f"{type(value).__name__}:{value.isoformat()}"
    return value


def digest(programme_file: str) -> str:
    """sha256 of what two monthly runs of a seeded population write and publish."""
    prog = load_programme(REPO / "programmes" / programme_file)
    base = templates(prog, seed=23)[:150]
    rng = random.Random(programme_file)
    store = InMemoryStore()
    for index in range(CUSTOMERS):
        profile = replace(base[index % len(base)], customer_id=f"G{index:06d}", version=1)
        if rng.random() < 0.03:
            profile = replace(profile, erased=True)
        elif rng.random() < 0.2 and profile.last_purchase_at:
            member = replace(profile.member, last_interaction_at=profile.last_purchase_at)
            profile = replace(profile, member=member)
        store.profiles[profile.customer_id] = profile
    hasher = hashlib.sha256()
    for month, as_of in enumerate(MONTHS):
        publisher = RecordingPublisher()
        service = ReclassifyService(
            InMemoryCustomerScan(store, page_size=97), publisher, prog, InMemoryRunStore(), threads=1
        )
        summary = run_steps(service, as_of, f"golden-{month}", total_segments=2)
        events = sorted(
            (str(e.detail_type), e.event_id, json.dumps(_canonical(e.detail), sort_keys=True))
            for e in publisher.events
        )
        profiles = [
            json.dumps(_canonical(asdict(store.profiles[k])), sort_keys=True) for k in sorted(store.profiles)
        ]
        record = [events, profiles, _canonical(summary)]
        hasher.update(json.dumps(record, sort_keys=True, default=str).encode())
    return hasher.hexdigest()


@pytest.mark.parametrize("programme_file", PROGRAMMES)
def test_classification_outcomes_match_the_golden_digest(programme_file: str) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert digest(programme_file) == golden[programme_file]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({name: digest(name) for name in PROGRAMMES}, indent=2) + "\n")
    print(GOLDEN.read_text())
