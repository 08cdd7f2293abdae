"""The back office's what-if run (service/back_office.py) on the fakes: the candidate validated as
/validate does, kept under its content hash, the state machine started once per candidate and period
with its dry-run input, the poll answering running, the report, or the failure in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from loyalty.errors import ApiError
from loyalty.fakes import InMemoryCandidates, InMemoryRuns, InMemoryRunStore
from loyalty.service.back_office import BackOfficeService
from loyalty.service.dry_run import candidate_source

from tests.helpers import default_programme

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def candidate(spend: str = "100.00") -> dict:
    source = json.loads(json.dumps(dict(default_programme().source)))
    source["tiers"][1]["any_of"]["spend_12m"] = spend
    return source


@pytest.fixture
def wired():
    runs, machine = InMemoryRunStore(), InMemoryRuns()
    service = BackOfficeService(runs, default_programme(), machine, InMemoryCandidates(runs), now=lambda: NOW)
    return service, runs, machine


def test_a_valid_candidate_starts_one_dry_run_of_the_last_month_with_the_candidate_in_the_run_bucket(wired):
    service, runs, machine = wired
    answer = service.start_what_if(candidate())
    assert answer["status"] == "RUNNING" and answer["period"] == "2026-11"
    assert answer["what_if_id"].startswith("what-if-2026-11-") and len(answer["what_if_id"]) == 48
    assert answer["poll"] == f"/v1/back-office/programme/what-if/{answer['what_if_id']}"
    ((name, run_input),) = machine.started
    assert name == answer["what_if_id"]
    assert run_input["dry_run"] is True and run_input["as_of"] == "2026-12-01"
    key = run_input["programme"]
    assert key.startswith("what-if/candidates/") and key.endswith(".json")
    # The state machine's prepare step reads it back from the run bucket and accepts it.
    assert candidate_source(key, runs.get)["tiers"][1]["any_of"]["spend_12m"] == "100.00"


def test_the_same_candidate_and_period_is_the_same_run_started_once(wired):
    service, _, machine = wired
    first = service.start_what_if(candidate())
    reordered = dict(reversed(list(candidate().items())))  # same content, other key order
    assert service.start_what_if(reordered) == first
    assert service.start_what_if(candidate(), as_of="2026-12-20") == first  # another day of the month
    assert len(machine.started) == 1
    other = service.start_what_if(candidate("120.00"))
    earlier = service.start_what_if(candidate(), as_of="2026-11-15")
    assert len({first["what_if_id"], other["what_if_id"], earlier["what_if_id"]}) == 3
    assert earlier["period"] == "2026-10"
    assert len(machine.started) == 3


def test_an_invalid_candidate_is_refused_naming_the_key_and_nothing_starts(wired):
    service, runs, machine = wired
    bad = candidate()
    bad["tiers"][1]["multiplier"] = "two"
    with pytest.raises(ApiError) as caught:
        service.start_what_if(bad)
    assert (caught.value.status, caught.value.code) == (422, "invalid_programme")
    assert caught.value.details == [{"field": "tiers[1].multiplier", "message": caught.value.message}]
    assert machine.started == [] and runs.documents == {}
    with pytest.raises(ApiError) as caught:
        service.start_what_if(candidate(), as_of="1 December")
    assert (caught.value.status, caught.value.details[0]["field"]) == (400, "as_of")


def test_the_poll_answers_running_then_the_dry_runs_report(wired):
    service, runs, machine = wired
    what_if_id = service.start_what_if(candidate())["what_if_id"]
    status, answer = service.what_if(what_if_id)
    assert (status, answer["status"]) == (202, "RUNNING")
    report = {"period": "2026-11", "dry_run": True, "customers": 3, "before": {}, "after": {}}
    runs.put(f"reclassification/2026-11/{what_if_id}/dry-run-report.json", report)
    machine.finish(what_if_id)
    assert service.what_if(what_if_id) == (
        200, {"what_if_id": what_if_id, "status": "SUCCEEDED", "report": report}
    )  # fmt: skip


def test_a_failed_run_answers_the_failure_in_words(wired):
    service, _, machine = wired
    what_if_id = service.start_what_if(candidate())["what_if_id"]
    machine.fail(what_if_id, "IncompleteRun", json.dumps({"errorMessage": "3 of 4 classify segments found"}))
    with pytest.raises(ApiError) as caught:
        service.what_if(what_if_id)
    assert (caught.value.status, caught.value.code) == (409, "what_if_failed")
    words = "the what-if run ended FAILED: IncompleteRun: 3 of 4 classify segments found"
    assert caught.value.message == words
    machine.fail(what_if_id, "ProgrammeError", json.dumps({"errorMessage": "programme.tiers: too short"}))
    with pytest.raises(ApiError) as caught:
        service.what_if(what_if_id)
    assert (caught.value.status, caught.value.code) == (422, "invalid_programme")
    machine.finish(what_if_id)  # succeeded, but the report is not in the bucket
    with pytest.raises(ApiError) as caught:
        service.what_if(what_if_id)
    assert caught.value.status == 409 and "left no report" in caught.value.message


@pytest.mark.parametrize(
    "bad",
    ["nope", "what-if-2026-13-" + "0" * 32, "what-if-2026-11-" + "A" * 32, "what-if-2026-11-" + "0" * 31],
)
def test_a_malformed_id_is_a_400_naming_it_and_an_unknown_one_a_404(wired, bad):
    service, _, _ = wired
    with pytest.raises(ApiError) as caught:
        service.what_if(bad)
    assert (caught.value.status, caught.value.details[0]["field"]) == (400, "what_if_id")
    with pytest.raises(ApiError) as caught:
        service.what_if("what-if-2026-11-" + "0" * 32)
    assert caught.value.status == 404


def test_without_a_state_machine_the_what_if_is_a_503_after_the_check():
    service = BackOfficeService(InMemoryRunStore(), default_programme())
    with pytest.raises(ApiError) as caught:
        service.start_what_if(candidate())
    assert (caught.value.status, caught.value.code) == (503, "what_if_unavailable")
