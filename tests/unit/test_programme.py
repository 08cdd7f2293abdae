import copy
import json

import pytest
from loyalty.programme import ProgrammeError, load_programme, parse_programme

from tests.helpers import DEFAULT_PROGRAMME, default_programme, sephora_programme


def base() -> dict:
    return json.loads(DEFAULT_PROGRAMME.read_text())


def test_default_programme_matches_the_brief():
    p = default_programme()
    assert (p.timezone, p.currency, p.points_per_unit) == ("Europe/Paris", "EUR", 1)
    assert [(t.name, t.multiplier, t.spend_12m) for t in p.tiers] == [
        ("member", 1, None),
        ("silver", 2, 25000),
        ("gold", 2, 60000),
    ]
    assert (p.vouchers.block_points, p.vouchers.block_value) == (500, 500)
    assert p.expiry_months == 24
    assert p.segments[0].name == "Lost" and not p.segments[0].scored
    names = [s.name for s in p.segments]
    assert names.index("Can't lose them") < names.index("At risk") < names.index("Hibernating")


def test_sephora_style_programme_uses_points_and_visits():
    p = sephora_programme()
    assert [t.name for t in p.tiers] == ["white", "black", "gold"]
    black = p.tier("black")
    assert black.qualifies(spend_12m=0, visits_12m=4, points_12m=0)
    assert black.qualifies(spend_12m=0, visits_12m=0, points_12m=150)
    assert not black.qualifies(spend_12m=10**9, visits_12m=3, points_12m=149)
    assert p.scoring.method == "fixed" and p.scoring.fixed.monetary[0] == 5000


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone"),
        (lambda d: d.update(currency="euro"), "currency"),
        (lambda d: d["tiers"][1]["any_of"].update(spend_12m=250.0), "tiers[1].any_of.spend_12m"),
        (lambda d: d["tiers"][1]["any_of"].update(spend_12m="250.001"), "tiers[1].any_of.spend_12m"),
        (lambda d: d["tiers"][2].update(name="silver"), "tiers[2].name"),
        (lambda d: d["tiers"][0].update(any_of={"visits_12m": 1}), "tiers[0].any_of"),
        (lambda d: d["earning"].update(points_per_unit=-1), "earning.points_per_unit"),
        (lambda d: d["earning"].update(bonus=3), "earning.bonus"),
        (lambda d: d["segments"]["rules"][1]["when"].update(r=[0, 6]), "segments.rules[1].when.r"),
        (lambda d: d["vouchers"].update(block_points=0), "vouchers.block_points"),
        (lambda d: d.update(scoring={"method": "fixed"}), "scoring.fixed"),
        (lambda d: d.pop("tiers"), "tiers"),
    ],
)
def test_errors_name_the_bad_key(mutate, key):
    data = copy.deepcopy(base())
    mutate(data)
    with pytest.raises(ProgrammeError) as err:
        parse_programme(data)
    assert err.value.key == key
    assert f"programme.{key}" in str(err.value)


def test_yaml_and_unreadable_files_are_reported(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("tiers: [\n")
    with pytest.raises(ProgrammeError, match="not valid YAML"):
        load_programme(bad)
    with pytest.raises(ProgrammeError, match="cannot read"):
        load_programme(tmp_path / "missing.json")


def test_months_are_the_programme_zone():
    from datetime import datetime

    p = default_programme()
    # 23:30 UTC on 31 March is already April in Paris.
    assert p.month_of(datetime.fromisoformat("2026-03-31T23:30:00+00:00")) == "2026-04"
    assert p.month_of(datetime.fromisoformat("2026-03-31T21:30:00+00:00")) == "2026-03"
