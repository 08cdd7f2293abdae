"""Which function serves which route, derived from the routers themselves (one truth for CDK,
the local gateway, the OpenAPI document and the infra tests)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from loyalty.settings import ERASURE, INGEST, POINTS, REDEMPTIONS

# Each API function and the router module(s) it serves: a new route module is listed here.
FUNCTION_ROUTERS: dict[str, tuple[str, ...]] = {
    INGEST: ("loyalty.api.routes_ingest", "loyalty.api.routes_members", "loyalty.api.routes_referrals"),
    POINTS: ("loyalty.api.routes_points", "loyalty.api.routes_ledger", "loyalty.api.routes_backoffice"),
    REDEMPTIONS: (
        "loyalty.api.routes_redemptions",
        "loyalty.api.routes_vouchers",
        "loyalty.api.routes_adjustments",
    ),
    ERASURE: ("loyalty.api.routes_erasure",),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway style: /v1/customers/{customer_id}
    function: str

    @property
    def audience(self) -> str:
        """ "store" or "back_office" (which API key reaches it: loyalty.api.access)."""
        from loyalty.api.access import audience

        return audience(self.method, self.path)

    @property
    def regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\{[^/]+\}", "[^/]+", self.path)
        return re.compile(f"^{pattern}$")


def routers_of(function: str) -> list[Any]:
    return [importlib.import_module(name).router for name in FUNCTION_ROUTERS[function]]


def api_routes() -> list[Route]:
    out = []
    for function in FUNCTION_ROUTERS:
        for router in routers_of(function):
            for key in router._routes:
                rule, methods = key[0], key[1]
                path = re.sub(r"<(\w+)>", r"{\1}", rule)
                for method in methods if isinstance(methods, (tuple, list)) else (methods,):
                    out.append(Route(method.upper(), path, function))
    return sorted(out, key=lambda r: (r.path, r.method))
