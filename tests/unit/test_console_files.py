"""The console's pieces that can be checked without a browser: the marketing service behind its
routes, both languages holding every message, the charts' colours being the report's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from loyalty.errors import ApiError
from loyalty.fakes import InMemoryRunStore
from loyalty.service.back_office import BackOfficeService
from loyalty_tools.charts import SEGMENT_COLOURS, SPARE_COLOURS, TIER_COLOURS

from tests.helpers import default_programme

CONSOLE = Path(__file__).resolve().parents[2] / "console"


def test_runs_are_the_periods_summaries_oldest_first_and_nothing_else():
    runs = InMemoryRunStore()
    runs.put("reclassification/2026-11/summary.json", {"period": "2026-11"})
    runs.put("reclassification/2026-10/summary.json", {"period": "2026-10"})
    runs.put("reclassification/2026-10/run-1/segment-0.json", {"period": "partial"})
    runs.put("reclassification/2026-10/run-1/dry-run-report.json", {"period": "what-if"})
    assert BackOfficeService(runs, default_programme()).runs() == {
        "runs": [{"period": "2026-10"}, {"period": "2026-11"}]
    }
    assert BackOfficeService(None, default_programme()).runs() == {"runs": []}


def test_a_candidate_is_checked_by_the_loader_and_its_message_names_the_key():
    programme = default_programme()
    candidate = json.loads(json.dumps(dict(programme.source)))
    assert BackOfficeService.validate(candidate)["valid"] is True
    candidate["tiers"][1]["multiplier"] = "two"
    with pytest.raises(ApiError) as caught:
        BackOfficeService.validate(candidate)
    assert (caught.value.status, caught.value.code) == (422, "invalid_programme")
    assert caught.value.message == "programme.tiers[1].multiplier: must be a whole number (got 'two')"
    with pytest.raises(ApiError):
        BackOfficeService.validate(["not", "an", "object"])


def messages(language: str) -> dict[str, str]:
    text = (CONSOLE / "i18n.js").read_text(encoding="utf-8")
    block = re.search(rf"^  {language}: \{{\n(.*?)^  \}},", text, re.M | re.S)
    assert block, language
    return dict(re.findall(r'"([\w.]+)": "((?:[^"\\]|\\.)*)"', block.group(1)))


def test_french_and_english_hold_the_same_messages_with_the_same_placeholders():
    en, fr = messages("en"), messages("fr")
    assert len(en) > 150
    assert set(en) == set(fr)
    for key in en:
        assert set(re.findall(r"\{\w+\}", en[key])) == set(re.findall(r"\{\w+\}", fr[key])), key


def test_every_message_the_pages_ask_for_exists():
    en = messages("en")
    asked = set()
    for page in CONSOLE.glob("*.js"):
        asked |= set(re.findall(r'\bt\("([\w.]+)"', page.read_text(encoding="utf-8")))
    prefixes = {"kind.", "type.", "voucher.", "status.", "channel.", "reason.", "exp."}  # t(prefix + value)
    assert {k for k in asked if not k.endswith(".")} - set(en) == set()
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in en), prefix


def test_the_console_charts_use_the_reports_colours():
    text = (CONSOLE / "charts.js").read_text(encoding="utf-8")
    fixed = dict(re.findall(r'^  "([^"]+)": "(#[0-9a-f]{6})",$', text, re.M))
    assert fixed == SEGMENT_COLOURS
    assert (
        re.findall(r"#[0-9a-f]{6}", re.search(r"SPARE_COLOURS = \[(.*?)\]", text).group(1)) == SPARE_COLOURS
    )
    assert re.findall(r"#[0-9a-f]{6}", re.search(r"TIER_COLOURS = \[(.*?)\]", text).group(1)) == TIER_COLOURS


def test_no_page_loads_anything_from_elsewhere():
    for path in CONSOLE.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path.name
        assert 'fetch("http' not in text and 'import "http' not in text, path.name
