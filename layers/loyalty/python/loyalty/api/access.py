"""Who may call which route: every route is a store route (tills, e-shop, app: the store key) or a
back-office route (customer service, finance: the admin key, which tills never hold). Declared here
only; the Lambdas enforce it, the local gateway and CDK derive their keys from it, docs/api-keys.md
lists it.

API Gateway cannot limit a key to some methods of a stage (any key in a usage plan of the stage passes
every keyed method), so the gate is in the function: API Gateway puts the id of the key it checked in
`requestContext.identity.apiKeyId`, and a back-office route answers 403 unless that id is the admin
key's (settings.admin_api_key_id, set by CDK; unset means no caller is back office: closed by default).
The admin key reaches the store routes too, so the back office can read the card it corrects.

People (the back-office console) sign in instead of holding a key: in AWS through a Cognito user pool
whose authorizer puts the user's groups in `requestContext.authorizer.claims["cognito:groups"]`, locally
through the gateway's sign-in, which plays that authorizer. A signed-in user is gated by group, here,
in the function, whatever the page shows: `support` acts on customers, `marketing` reads the runs and
tries programmes; both read a card (docs/back-office.md).
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
        ("GET", "/v1/back-office/runs"),
        ("GET", "/v1/back-office/programme"),
        ("POST", "/v1/back-office/programme/validate"),
        ("POST", "/v1/back-office/programme/what-if"),
        ("GET", "/v1/back-office/programme/what-if/{what_if_id}"),
    }
)

Group = Literal["support", "marketing"]
SUPPORT: Group = "support"
MARKETING: Group = "marketing"
GROUPS: tuple[Group, ...] = (SUPPORT, MARKETING)
MARKETING_PREFIX = "/v1/back-office/"  # the runs and the programme: marketing's routes


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")


_BACK_OFFICE_PATTERNS = tuple((method, _template(path)) for method, path in sorted(BACK_OFFICE_ROUTES))


def audience(method: str, path: str) -> Audience:
    """Of a route (`path` as declared, /v1/vouchers/{code}/cancel) or of a request's path."""
    method = method.upper()
    if (method, path) in BACK_OFFICE_ROUTES:
        return BACK_OFFICE
    return BACK_OFFICE if any(m == method and p.match(path) for m, p in _BACK_OFFICE_PATTERNS) else STORE


def groups_allowed(method: str, path: str) -> frozenset[str]:
    """The groups a signed-in user needs one of: marketing's routes (runs, programme) for `marketing`;
    reading a card or its lists for both; every other change (adjust, block, cancel, erase) for
    `support`."""
    if path.startswith(MARKETING_PREFIX):
        return frozenset({MARKETING})
    if method.upper() in ("GET", "HEAD"):
        return frozenset(GROUPS)
    return frozenset({SUPPORT})


def caller_groups(event: dict[str, Any]) -> frozenset[str] | None:
    """The groups of a signed-in user (the Cognito authorizer's claims), None for a caller with a key.
    API Gateway (REST) flattens the claim to a string: "support", "support,marketing" or
    "[support marketing]"."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, dict) else None
    if not isinstance(claims, dict):
        return None
    raw = claims.get("cognito:groups") or ""
    names = raw if isinstance(raw, list) else re.split(r"[\s,]+", str(raw).strip("[]"))
    return frozenset(str(n) for n in names if n) & frozenset(GROUPS)


def caller_is_back_office(event: dict[str, Any]) -> bool:
    """True when API Gateway let the request in with the admin key, or for a signed-in `support` user
    (for a field that only the back office may change on a store route, e.g. a member's status)."""
    groups = caller_groups(event)
    if groups is not None:
        return SUPPORT in groups
    admin_id = get_settings().admin_api_key_id
    identity = (event.get("requestContext") or {}).get("identity") or {}
    key_id = identity.get("apiKeyId")
    return bool(admin_id) and isinstance(key_id, str) and hmac.compare_digest(key_id, admin_id)


def refused(event: dict[str, Any]) -> tuple[int, str, str] | None:
    """(403, code, message) for a back-office route called without the admin key, or for a signed-in
    user outside the route's groups, else None."""
    method = str(event.get("httpMethod") or "")
    # The resource (the route's template, as API Gateway sends it) or the path the resolver routes on:
    # either naming a back-office route is enough, so no event shape slips past the gate.
    targets = (str(event.get("resource") or ""), str(event.get("path") or ""))
    groups = caller_groups(event)
    if groups is not None and any(targets):
        needed = frozenset.intersection(*(groups_allowed(method, t) for t in targets if t))
        if not groups & needed:
            wanted = " or ".join(sorted(needed))
            return 403, "group_not_allowed", f"{method} {targets[0]}: needs a user of the group {wanted}"
        return None
    if any(audience(method, t) == BACK_OFFICE for t in targets) and not caller_is_back_office(event):
        return 403, "back_office_only", f"{method} {targets[0]}: needs the back-office (admin) API key"
    return None
