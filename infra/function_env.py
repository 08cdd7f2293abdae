"""The Powertools and runtime environment of every function: plain Python (no CDK import), so the
cold-import bench runs the handlers in the environment the stack deploys."""

from __future__ import annotations

SERVICE_NAME = "loyalty"
METRICS_NAMESPACE = "Loyalty"


def powertools_env(function: str) -> dict[str, str]:
    """The Powertools environment of a function: one service, one metrics namespace."""
    return {
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_METRICS_FUNCTION_NAME": function,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # Powertools validates with pydantic, whose import otherwise scans every installed
        # distribution's entry points for pydantic plugins: we use none (about 20-40 ms of a cold start).
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
