"""vouchers.season_months: the monthly run whose reference day is the first of a season month converts
spendable points into one voucher per whole block, once (service/reclassify/season.py), on the fakes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from loyalty.fakes import (
    InMemoryCustomerScan,
    InMemoryRedemptions,
    InMemoryRunStore,
    InMemoryStore,
    RecordingPublisher,
    TransactionView,
)
from loyalty.programme import ProgrammeError, parse_programme
from loyalty.service.ingest import IngestService
from loyalty.service.reclassify import ReclassifyService
from loyalty.service.reclassify.season import SeasonConversion, season_of
from loyalty.service.reclassify.steps import run_steps

from tests.helpers import DEFAULT_PROGRAMME, FIXED_NOW, transaction_request


def season_programme(months: list[int]):  # type: ignore[no-untyped-def]
    data = json.loads(DEFAULT_PROGRAMME.read_text(encoding="utf-8"))
    data["vouchers"]["season_months"] = months
    for tier in data["tiers"]:
        tier["multiplier"] = 1
    return parse_programme(data)


def test_season_months_are_checked_by_the_loader() -> None:
    for bad in ([0], [13], ["march"], [3, 3]):
        with pytest.raises(ProgrammeError) as caught:
            season_programme(bad)  # type: ignore[arg-type]
        assert caught.value.key == "vouchers.season_months"


def test_the_run_for_february_converts_on_1_march() -> None:
    programme = season_programme([3, 9])
    assert season_of(programme, date(2026, 3, 1)) == "2026-03"
    assert season_of(programme, date(2026, 4, 1)) is None


def setup(months: list[int]):  # type: ignore[no-untyped-def]
    programme = season_programme(months)
    store = InMemoryStore()
    publisher = RecordingPublisher()
    ingest = IngestService(
        store, TransactionView(store), publisher, programme, sleep=lambda _: None, now=lambda: FIXED_NOW
    )
    ingest.record(transaction_request(amount="1200.00", occurred_at="2026-11-10T10:00:00+01:00"))
    redemptions = InMemoryRedemptions(store)
    season = SeasonConversion(
        store, redemptions, publisher, programme, sleep=lambda _: None,
        now=lambda: datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
    )  # fmt: skip
    scan = InMemoryCustomerScan(store, page_size=7)
    svc = ReclassifyService(scan, publisher, programme, InMemoryRunStore(), season=season)
    return svc, store, redemptions, publisher


def test_a_season_run_converts_whole_blocks_and_a_rerun_issues_nothing() -> None:
    svc, store, redemptions, publisher = setup([12])
    run_steps(svc, date(2026, 12, 2), "first", total_segments=2)
    vouchers = list(redemptions.vouchers_by_code.values())
    assert [(v.points, v.value, v.cause) for v in vouchers] == [(500, 500, "season"), (500, 500, "season")]
    assert store.profiles["C1"].points_balance == 200
    issued = [e for e in publisher.events if e.detail_type == "VoucherIssued"]
    assert len(issued) == 2 and {e.detail["cause"] for e in issued} == {"season"}
    assert [e.detail["after"]["points_balance"] for e in issued] == [700, 200]
    run_steps(svc, date(2026, 12, 2), "again", total_segments=3)
    assert len(redemptions.vouchers_by_code) == 2 and store.profiles["C1"].points_balance == 200


def test_another_month_converts_nothing() -> None:
    svc, store, redemptions, _ = setup([3, 9])
    run_steps(svc, date(2026, 12, 2), "december", total_segments=1)
    assert redemptions.vouchers_by_code == {} and store.profiles["C1"].points_balance == 1200


def test_a_conversion_written_but_not_published_is_published_again_with_the_same_ids() -> None:
    svc, store, redemptions, publisher = setup([12])
    assert svc.season is not None
    svc.season.convert("C1", "2026-12", date(2026, 12, 1))
    first = [e.event_id for e in publisher.events if e.detail_type == "VoucherIssued"]
    # the balance now covers a block no more, but a forced retry of the same season finds the record
    store.profiles["C1"] = store.profiles["C1"].__class__(
        **{**store.profiles["C1"].__dict__, "points_balance": 700}
    )
    svc.season.convert("C1", "2026-12", date(2026, 12, 1))
    again = [e.event_id for e in publisher.events if e.detail_type == "VoucherIssued"][len(first) :]
    assert again == first and len(redemptions.vouchers_by_code) == 2


def test_the_mexx_style_programme_converts_at_the_start_of_spring_and_autumn() -> None:
    from loyalty.programme import load_programme

    from tests.helpers import REPO

    mexx = load_programme(REPO / "programmes" / "mexx-style.json")
    assert [t.name for t in mexx.tiers] == ["Lin", "Velours", "Soie"]
    assert [(t.multiplier, t.spend_12m) for t in mexx.tiers[1:]] == [(2, 25000), (2, 60000)]
    assert mexx.pending_days == 30 and mexx.points_per_unit == 1
    assert [season_of(mexx, date(2027, m, 1)) for m in (3, 6, 9)] == ["2027-03", None, "2027-09"]
