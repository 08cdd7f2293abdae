"""The bench's classify worker against the raw scan (issue 19 item 5): both sides read the same table
through the same stand-in for DynamoDB, in process or the moto server in its own process, and the
requests each side makes are counted, not timed."""

from __future__ import annotations

import pytest

from bench.reclassify_bench import moto_run, programme

CUSTOMERS = 300  # one Scan page (DynamoDB's 1 MB pages hold over 1,000 of these items)


@pytest.fixture(scope="module")
def sides() -> dict[bool, object]:
    prog = programme()
    return {server: moto_run(CUSTOMERS, prog, server) for server in (False, True)}


@pytest.mark.parametrize("server", [False, True], ids=["in-process", "moto-server"])
def test_the_worker_makes_one_scan_a_page_one_put_a_changed_customer_and_the_raw_scan_one_scan(
    sides: dict[bool, object], server: bool
) -> None:
    r = sides[server]
    assert r.customers == CUSTOMERS and 0 < r.changed < CUSTOMERS  # the next month: some written
    calls = dict(r.worker_calls)
    assert calls.pop("Scan") == 1
    assert calls.pop("PutItem") == r.changed  # one conditional put per changed customer, none other
    assert calls.pop("PutObject") == 1  # the segment's tally
    publishes = calls.pop("PutEvents")
    assert -(-r.events // 10) <= publishes <= r.events  # batches of up to 10 entries
    assert calls == {}
    assert r.raw_calls == 1


def test_both_stand_ins_see_the_same_table_and_the_server_is_charged_to_both_sides_alike(
    sides: dict[bool, object],
) -> None:
    local, remote = sides[False], sides[True]
    assert (remote.changed, remote.events, remote.wru) == (local.changed, local.events, local.wru)
    assert remote.worker_calls == local.worker_calls
    # In process moto's work is this process's CPU (no separate figure); out of process both sides'
    # server CPU is measured, and each side paid some.
    assert local.raw_server_ms == local.worker_server_ms == 0
    assert remote.raw_server_ms > 0 and remote.worker_server_ms > 0
