"""The README's lists that come from one truth elsewhere: every event's detail-type (loyalty.events)
and every route (loyalty.api.routes) is named there, so a new one cannot ship undocumented."""

import re
from pathlib import Path

from loyalty.api.routes import api_routes
from loyalty.events import DetailType

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has no section '## {title}'"
    return match.group(1)


def test_every_detail_type_is_named_in_the_events_section() -> None:
    events = section("Events")
    missing = [str(t) for t in DetailType if f"`{t}`" not in events]
    assert not missing, f"README '## Events' does not name {missing}"


def test_every_route_is_in_the_api_table() -> None:
    api = section("The HTTP API (v1)")
    missing = [f"{r.method} {r.path}" for r in api_routes() if f"`{r.method} {r.path}`" not in api]
    assert not missing, f"README '## The HTTP API (v1)' does not list {missing}"
