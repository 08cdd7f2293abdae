"""A small local API Gateway: HTTP in, API Gateway REST proxy events to the real handlers, HTTP out.

Each handler runs in a pool of worker processes, like Lambda containers: one request at a time
per process, module state (Powertools resolver, clients) kept warm between requests.
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
import multiprocessing
import os
import socket
import sys
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from loyalty.api.openapi import openapi_document
from loyalty.api.routes import Route, api_routes
from loyalty.settings import env_name

from loyalty_tools import console_server
from loyalty_tools.apigw import LocalContext, proxy_event

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit
DEFAULT_API_KEY = "local-dev-key"
DEFAULT_ADMIN_API_KEY = "local-admin-key"  # the back-office key: tills never hold it
# The ids API Gateway would put in requestContext.identity.apiKeyId for each key (loyalty.api.access).
STORE_KEY_ID, ADMIN_KEY_ID = "local-store-key-id", "local-admin-key-id"
BODY_TIMEOUT = 5.0  # seconds to receive a body once its headers are in (a lying Content-Length)

_handlers: dict[str, Any] = {}


def load_handler(function: str) -> Any:
    """Import functions/<function>/handler.py under a unique module name and return `handler`."""
    if function not in _handlers:
        path = FUNCTIONS_DIR / function / "handler.py"
        spec = importlib.util.spec_from_file_location(f"loyalty_function_{function}", path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _handlers[function] = module.handler
    return _handlers[function]


def _worker_init(env: dict[str, str], log_dir: str | None) -> None:
    os.environ.update(env)
    if log_dir:
        # Like CloudWatch Logs: each "container" writes its logs and EMF metrics to its own file.
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        stream = open(Path(log_dir) / f"worker-{os.getpid()}.log", "a", buffering=1)  # noqa: SIM115
        sys.stdout = sys.stderr = stream


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Run one handler invocation (in a worker process). A crash answers 502, as API Gateway does
    when a Lambda fails; the traceback goes to this process's stderr (the function's log)."""
    try:
        return load_handler(function)(event, LocalContext(function_name=f"loyalty-{function}"))
    except Exception:
        traceback.print_exc()
        return {"statusCode": 502, "body": '{"message": "Internal server error"}'}


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path parameters, path_exists)."""
    path_exists = False
    for route in routes:
        if not route.regex.match(path):
            continue
        path_exists = True
        if route.method != method:
            continue
        params = {}
        for template, actual in zip(route.path.split("/"), path.split("/"), strict=True):
            if template.startswith("{"):
                # API Gateway (REST) decodes path parameters and leaves `path` as sent.
                params[template[1:-1]] = unquote(actual)
        return route, params, True
    return None, {}, path_exists


SWAGGER_UI_DIR = REPO_ROOT / "node_modules" / "swagger-ui-dist"  # pinned in package.json (5.x: OpenAPI 3.1)
SWAGGER_UI_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")


def allowed_methods(routes: list[Route], path: str) -> list[str]:
    return sorted({route.method for route in routes if route.regex.match(path)})


def _swagger_html() -> str:
    # The charset matters: without it the browser reads the bundle as Latin-1 and it fails to parse.
    return """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loyalty API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js" charset="utf-8"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", deepLinking: true});</script>
</body></html>"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 resets connections in a burst of clients


class Gateway:
    def __init__(
        self,
        env: dict[str, str],
        api_key: str = DEFAULT_API_KEY,
        admin_api_key: str = DEFAULT_ADMIN_API_KEY,
        host: str = "127.0.0.1",
        port: int = 3000,
        workers: int = 4,
        log_dir: str | None = str(REPO_ROOT / ".loyalty" / "logs"),
    ) -> None:
        if admin_api_key == api_key:
            raise ValueError("the back-office API key must differ from the store key (tills hold that one)")
        self.api_key = api_key
        self.admin_api_key = admin_api_key
        self.console = console_server.ConsoleSessions(admin_api_key)  # plays the Cognito user pool
        env = {**env, env_name("admin_api_key_id"): ADMIN_KEY_ID}  # as CDK sets it on the functions
        self.routes = api_routes()
        self.openapi = json.dumps(openapi_document()).encode()
        self._pool_args = (workers, env, log_dir)
        self._pool_lock = threading.Lock()
        self.pool = self._new_pool()
        self.pools_started = 1
        self.server = _Server((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        workers, env, log_dir = self._pool_args
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(env, log_dir),
        )
        # Warm every worker with every handler so the first requests are not cold starts.
        functions = sorted({r.function for r in self.routes})
        list(pool.map(_warm, [functions] * workers))
        return pool

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """Run one invocation in the pool. A worker that dies (killed, out of memory) breaks the
        whole ProcessPoolExecutor: that request is a 502, as Lambda's would be, and a new pool takes
        over, as new Lambda containers would, so later requests are served."""
        pool = self.pool
        try:
            return pool.submit(invoke, function, event).result(timeout=60)
        except BrokenProcessPool:
            with self._pool_lock:
                if self.pool is pool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = self._new_pool()
                    self.pools_started += 1
            raise

    def key_id(self, presented: str | None) -> str | None:
        """Like API Gateway: the id of the API key presented, None (403) if it is not one of ours. Which
        routes a key reaches is decided by the function (loyalty.api.access), as in AWS."""
        keys = {self.api_key: STORE_KEY_ID, self.admin_api_key: ADMIN_KEY_ID}
        return keys.get(presented) if presented else None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Gateway:
        self.thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "loyalty-local-gateway"

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in separate writes: without this, Nagle plus the
                # client's delayed ACK add ~40 ms to every keep-alive response.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: no request bodies logged
                pass

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_PUT(self) -> None:
                self._dispatch("PUT")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

            def do_PATCH(self) -> None:
                self._dispatch("PATCH")

            def do_HEAD(self) -> None:
                self._dispatch("HEAD")

            def do_OPTIONS(self) -> None:
                self._dispatch("OPTIONS")

            def __getattr__(self, name: str) -> Any:
                # do_FOO for any other method: a JSON answer as API Gateway gives, not http.server's
                # HTML 501.
                if name.startswith("do_") and name[3:].isupper():
                    return lambda: self._dispatch(name[3:])
                raise AttributeError(name)

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                headers = {"Content-Type": "application/json", **(headers or {})}
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":  # a HEAD answer has headers only
                    self.wfile.write(body)

            def _error(
                self, status: int, code: str, message: str, headers: dict[str, str] | None = None
            ) -> None:
                body = {"error": {"code": code, "message": message, "details": None}}
                self._send(status, json.dumps(body).encode(), headers)

            def _dispatch(self, method: str) -> None:
                url = urlsplit(self.path)
                if self._local_pages(method, url.path):
                    return None
                if console_server.serve(self, gateway.console, method, url.path):
                    return None
                # The key first, from the headers alone: nothing of the body is read (or waited
                # for) on behalf of a caller without the key. A console user signs in instead (the
                # Cognito authorizer's claims, console_server).
                key_id = gateway.key_id(_one_key(self.headers.get_all("x-api-key") or []))
                claims = None if key_id else gateway.console.claims(self.headers.get("Authorization"))
                if key_id is None and claims is None:
                    self.close_connection = True
                    return self._send(403, b'{"message":"Forbidden"}')
                route, params, path_exists = match_route(gateway.routes, method, url.path)
                if route is None:
                    self.close_connection = True  # the body, if any, is not read
                    if path_exists:
                        allow = ", ".join(allowed_methods(gateway.routes, url.path))
                        return self._error(
                            405,
                            "method_not_allowed",
                            f"{method} is not allowed here; use {allow}",
                            {"Allow": allow},
                        )
                    return self._error(404, "not_found", "no such route")
                body, problem = self._read_body()
                if problem is not None:
                    self.close_connection = True
                    return self._error(*problem)
                headers = {k.lower(): v for k, v in self.headers.items()}
                event = proxy_event(
                    method, url.path, route.path, params, headers, url.query, body, api_key_id=key_id
                )
                if claims is not None:
                    event["requestContext"]["authorizer"] = {"claims": claims}
                try:
                    result = gateway.invoke(route.function, event)
                except Exception as exc:  # the handler crashed: API Gateway answers 502
                    return self._error(502, "bad_gateway", f"handler failed: {type(exc).__name__}")
                out = result.get("body") or ""
                payload = (
                    out.encode() if not result.get("isBase64Encoded") else __import__("base64").b64decode(out)
                )
                headers_out = dict(result.get("headers") or {})
                for key, values in (result.get("multiValueHeaders") or {}).items():
                    headers_out[key] = ",".join(values)
                return self._send(int(result.get("statusCode", 502)), payload, headers_out)

            def _read_body(self) -> tuple[bytes | None, tuple[int, str, str] | None]:
                """The body as framed by Content-Length (or chunked), received within BODY_TIMEOUT;
                (None, (status, code, message)) when it cannot be."""
                chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
                declared = self.headers.get_all("Content-Length") or []
                if len(set(declared)) > 1 or (declared and not declared[0].strip().isdigit()):
                    return None, (400, "bad_request", "content-length: must be one whole number")
                length = int(declared[0]) if declared else 0
                if length > API_GATEWAY_MAX_BODY:
                    return None, (413, "body_too_large", "body: larger than API Gateway accepts")
                if not chunked and not length:
                    if not declared and self.command in ("POST", "PUT", "PATCH"):
                        # No framing: whatever the client sends after the headers is not a body we
                        # can delimit, and must not be read as the next request either.
                        self.close_connection = True
                    return None, None
                self.connection.settimeout(BODY_TIMEOUT)
                try:
                    body = (
                        _read_chunked(self.rfile, API_GATEWAY_MAX_BODY)
                        if chunked
                        else self.rfile.read(length)
                    )
                except TimeoutError:
                    return None, (
                        408,
                        "request_timeout",
                        "body: not received in time (Content-Length larger than the body?)",
                    )
                except ValueError as exc:
                    return None, (400, "bad_request", f"body: {exc}")
                finally:
                    self.connection.settimeout(None)
                if len(body) < length:  # the client closed before sending what it announced
                    return None, (400, "bad_request", "body: shorter than its Content-Length")
                return body or None, None

            def _local_pages(self, method: str, path: str) -> bool:
                """OpenAPI document and Swagger UI, served without a key like public docs."""
                if method != "GET":
                    return False
                if path == "/openapi.json":
                    self._send(200, gateway.openapi)
                    return True
                if path in ("/docs", "/docs/"):
                    self._send(200, _swagger_html().encode(), {"Content-Type": "text/html; charset=utf-8"})
                    return True
                if path.startswith("/docs/") and Path(path).name in SWAGGER_UI_ASSETS:
                    asset = SWAGGER_UI_DIR / Path(path).name
                    if not asset.is_file():
                        self._error(503, "docs_not_installed", "Swagger UI: run `make install` (npm ci)")
                        return True
                    kind = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
                    if kind.startswith("text/") or kind.endswith("javascript"):
                        kind += "; charset=utf-8"
                    self._send(200, asset.read_bytes(), {"Content-Type": kind})
                    return True
                if path == "/health":
                    self._send(200, b'{"status":"ok"}')
                    return True
                return False

        return Handler


def _one_key(sent: list[str]) -> str | None:
    """The key of exactly one x-api-key header: two of them are refused, never one picked."""
    return sent[0] if len(sent) == 1 else None


def _read_chunked(stream: Any, limit: int) -> bytes:
    out = bytearray()
    while True:
        size_line = stream.readline(1024).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ValueError("malformed chunked encoding") from None
        if size == 0:
            stream.readline(1024)
            return bytes(out)
        if len(out) + size > limit:
            raise ValueError("larger than API Gateway accepts")
        out += stream.read(size)
        stream.readline(1024)


def _warm(functions: list[str]) -> int:
    for function in functions:
        load_handler(function)
    return os.getpid()
