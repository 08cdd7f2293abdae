"""Who may call which route: every route is a store route (tills, e-shop, app: the store key) or a
back-office route (customer service, finance: the admin key, which tills never hold). Declared here
only; the Lambdas enforce it, the local gateway and CDK derive their keys from it, docs/api-keys.md
lists it.

API Gateway cannot limit a key to some methods of a stage (any key in a usage plan of the stage passes
every keyed method), so the gate is in the function: API Gateway puts the id of the key it checked in
`requestContext.identity.apiKeyId`, and a back-office route answers 403 unless that id is the admin
key's (settings.admin_api_key_id, set by CDK; unset means no caller is back office: closed by default).
The admin key reaches the store routes too, so the back office can read the card it corrects.
"""

from __future__ import annotations

import hmac
import re
from typing import Any, Literal

from loyalty.settings import get_settings

Audience = Literal["store", "back_office"]
STORE: Audience = "store"
BACK_OFFICE: Audience = "back_office"

# (method, path as API Gateway spells it). A new back-office route is listed here.
BACK_OFFICE_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/v1/vouchers/{code}/cancel"),
        ("POST", "/v1/customers/{customer_id}/adjustments"),
    }
)


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")


_BACK_OFFICE_PATTERNS = tuple((method, _template(path)) for method, path in sorted(BACK_OFFICE_ROUTES))


def audience(method: str, path: str) -> Audience:
    """Of a route (`path` as declared, /v1/vouchers/{code}/cancel) or of a request's path."""
    method = method.upper()
    if (method, path) in BACK_OFFICE_ROUTES:
        return BACK_OFFICE
    return BACK_OFFICE if any(m == method and p.match(path) for m, p in _BACK_OFFICE_PATTERNS) else STORE


def caller_is_back_office(event: dict[str, Any]) -> bool:
    """True when API Gateway let the request in with the admin key (for a field that only the back office
    may change on a store route, e.g. a member's status)."""
    admin_id = get_settings().admin_api_key_id
    identity = (event.get("requestContext") or {}).get("identity") or {}
    key_id = identity.get("apiKeyId")
    return bool(admin_id) and isinstance(key_id, str) and hmac.compare_digest(key_id, admin_id)


def refused(event: dict[str, Any]) -> tuple[int, str, str] | None:
    """(403, code, message) for a back-office route called without the admin key, else None."""
    method = str(event.get("httpMethod") or "")
    # The resource (the route's template, as API Gateway sends it) or the path the resolver routes on:
    # either naming a back-office route is enough, so no event shape slips past the gate.
    targets = (str(event.get("resource") or ""), str(event.get("path") or ""))
    if any(audience(method, t) == BACK_OFFICE for t in targets) and not caller_is_back_office(event):
        return 403, "back_office_only", f"{method} {targets[0]}: needs the back-office (admin) API key"
    return None
