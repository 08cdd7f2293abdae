"""The defaults a programme file may leave out: the segment rules."""

from __future__ import annotations

from typing import Any

# The default 11-segment RFM map plus Dormant and Engaged non-buyers, in match order (first match wins).
# Engaged non-buyers (dormant but relationally active) come before every R/F/M rule and before Dormant:
# a silent buyer who still interacts is kept warm, not treated as lost.
# Order matters: "Can't lose them" (R1, high F and M) must come before "At risk" and
# "Hibernating", which would otherwise swallow it; Lost (no purchase in 12 months) is unscored.
DEFAULT_SEGMENT_RULES: list[dict[str, Any]] = [
    {"name": "Lost", "when": {"scored": False}, "description": "No purchase in 12 months"},
    {
        "name": "Engaged non-buyers",
        "when": {"dormant": True, "relationally_active": True},
        "description": "No purchase for longer than their own cycle, but interacting: keep them warm",
    },
    {"name": "Champions", "when": {"r": [4, 5], "f": [4, 5], "m": [4, 5]}},
    {"name": "Can't lose them", "when": {"r": [1, 1], "f": [4, 5], "m": [4, 5]}},
    {
        "name": "Dormant, worth winning back",
        "when": {"dormant": True, "p_alive": [0.3, 1], "value_top_half": True},
        "description": "Dormant, but P(alive) >= 0.3 and a value estimate in the top half",
    },
    {"name": "Dormant", "when": {"dormant": True}, "description": "Past k x own purchase cycle"},
    {"name": "At risk", "when": {"r": [1, 2], "f": [3, 5]}},
    {"name": "Loyal", "when": {"r": [3, 5], "f": [4, 5]}},
    {"name": "Potential loyalists", "when": {"r": [4, 5], "f": [2, 3]}},
    {"name": "New", "when": {"r": [5, 5], "f": [1, 1]}},
    {"name": "Promising", "when": {"r": [4, 4], "f": [1, 1]}},
    {"name": "Need attention", "when": {"r": [3, 3], "f": [2, 3]}},
    {"name": "About to sleep", "when": {"r": [3, 3], "f": [1, 1]}},
    {"name": "Hibernating", "when": {"r": [1, 2], "f": [1, 2]}},
]
