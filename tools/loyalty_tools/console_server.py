"""The back-office console on the local gateway: its static pages at /admin (console/, plain ES modules,
no build), and the local sign-in that plays the Cognito user pool of AWS.

Sign-in: `POST /admin/sign-in` with `{"key": <the back-office key>, "group": "support" | "marketing"}`
answers a token, signed with a secret of this gateway process. A request bearing
`Authorization: Bearer <token>` reaches the functions as API Gateway's Cognito authorizer would pass it:
`requestContext.authorizer.claims["cognito:groups"]`, and no API key. The functions decide what the
group may do (loyalty.api.access), as in AWS; the page only hides what the API would refuse.
The what-if run is the API's route (POST /v1/back-office/programme/what-if) here as in AWS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from loyalty.api.access import GROUPS

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"
SESSION_SECONDS = 8 * 3600  # a working day, like the user pool's ID token (1 h, refreshed)
_ASSET = re.compile(r"^/admin/([a-z0-9_-]+(?:/[a-z0-9_-]+)?\.(?:js|css|svg))$")
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# No page loads anything from elsewhere (a store's closed network): the policy says so to the browser.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ConsoleSessions:
    """Signed, expiring tokens naming one group, given for the back-office key only."""

    def __init__(self, admin_api_key: str, secret: bytes | None = None) -> None:
        self._admin_key = admin_api_key
        self._secret = secret or os.urandom(32)

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def sign_in(self, body: Any, now: float | None = None) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return 400, _error("invalid_json", "body: must be a JSON object with key and group")
        group = body.get("group")
        if group not in GROUPS:
            return 400, _error("invalid_field", f"group: must be one of {', '.join(GROUPS)}")
        key = body.get("key")
        if not isinstance(key, str) or not hmac.compare_digest(key.encode(), self._admin_key.encode()):
            return 401, _error("wrong_key", "key: not the back-office key")
        expires = int((now or time.time()) + SESSION_SECONDS)
        claims = {"sub": f"local-{group}", "cognito:groups": group, "exp": expires}
        payload = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True).encode()).decode()
        return 200, {"token": f"{payload}.{self._sign(payload.encode())}", "group": group, "expires": expires}

    def claims(self, authorization: str | None, now: float | None = None) -> dict[str, str] | None:
        """The claims of a valid, unexpired bearer token, as the authorizer passes them (strings)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        payload, _, signature = authorization[7:].strip().partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload.encode()).encode()):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except ValueError:
            return None
        if int(claims.get("exp", 0)) <= (now or time.time()):
            return None
        return {str(k): str(v) for k, v in claims.items()}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": None}}


def serve(handler: Any, sessions: ConsoleSessions, method: str, path: str) -> bool:
    """Answer /admin requests (pages, assets, sign-in); False for any other path."""
    if path != "/admin" and not path.startswith("/admin/"):
        return False
    if path == "/admin/sign-in" and method == "POST":
        body, problem = handler._read_body()
        if problem is not None:
            handler._error(*problem)
            return True
        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = None
        status, answer = sessions.sign_in(data)
        handler._send(status, json.dumps(answer).encode(), {"Cache-Control": "no-store"})
        return True
    if method not in ("GET", "HEAD"):
        handler.close_connection = True
        handler._error(405, "method_not_allowed", f"{method} is not allowed here; use GET", {"Allow": "GET"})
        return True
    if path == "/admin":  # the pages' relative URLs resolve under /admin/
        handler._send(308, b"", {"Location": "/admin/", "Content-Type": "text/plain"})
        return True
    if path == "/admin/":
        page = (CONSOLE_DIR / "index.html").read_bytes()
        handler._send(200, page, {"Content-Type": "text/html; charset=utf-8", **PAGE_HEADERS})
        return True
    if path == "/admin/config.json":  # which sign-in the page offers (CDK deploys the Cognito one)
        handler._send(200, b'{"signIn": "local"}', {"Cache-Control": "no-store"})
        return True
    match = _ASSET.match(path)
    asset = CONSOLE_DIR / match.group(1) if match else None
    if asset is None or not asset.is_file():
        handler._error(404, "not_found", "no such page")
        return True
    handler._send(200, asset.read_bytes(), {"Content-Type": TYPES[asset.suffix], **PAGE_HEADERS})
    return True
