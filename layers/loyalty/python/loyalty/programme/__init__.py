"""The loyalty programme: one file (JSON or YAML), validated at load with errors that name the key.

Everything a retailer configures lives here: time zone and currency, earning, tiers, vouchers,
expiry, RFM scoring and the ordered segment rules. The loader is plain Python (no pydantic) so a
Lambda cold start stays cheap; the same loader runs at `cdk synth`, so a bad file fails the synth.

The package: `model.py` (what a programme is), `loader.py` (file -> validated model), `validation.py`
(the checks each key goes through), `defaults.py` (what a file may leave out). Import from here.
"""

from loyalty.programme.loader import load_programme, parse_programme
from loyalty.programme.model import (
    EXPIRY_POLICIES,
    MAX_CALENDAR_YEARS,
    MAX_PENDING_DAYS,
    MAX_ROLLING_MONTHS,
    SCORE_MAX,
    SCORE_MIN,
    Dormancy,
    Experiment,
    FixedThresholds,
    ProbabilityRange,
    Programme,
    ProgrammeError,
    Relational,
    ScoreRange,
    Scoring,
    SegmentRule,
    Tier,
    Vouchers,
)

__all__ = [
    "EXPIRY_POLICIES", "MAX_CALENDAR_YEARS", "MAX_PENDING_DAYS", "MAX_ROLLING_MONTHS", "SCORE_MAX",
    "SCORE_MIN", "Dormancy", "Experiment", "FixedThresholds", "ProbabilityRange", "Programme",
    "ProgrammeError", "Relational", "ScoreRange", "Scoring", "SegmentRule", "Tier", "Vouchers",
    "load_programme", "parse_programme",
]  # fmt: skip
