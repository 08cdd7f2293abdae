"""Swagger UI at /docs in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright through executable_path; `playwright install` is never used) renders every operation of
the served OpenAPI 3.1 document, and the page logs no console error and throws nothing."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.browser import chromium_page
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def operations(document: dict) -> set[tuple[str, str]]:
    return {
        (method, path) for path, item in document["paths"].items() for method in item if method in METHODS
    }


def test_swagger_ui_renders_every_operation_without_a_console_error(stack: Stack) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    document = requests.get(stack.api_url + "/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.1")
    wanted = operations(document)
    assert len(wanted) >= 7, wanted  # the v1 API: transactions, customers, history, redemptions, ...

    problems: list[str] = []
    with chromium_page(problems) as page:
        page.goto(stack.api_url + "/docs", wait_until="load")
        # Swagger UI fetches /openapi.json and renders one .opblock per operation.
        try:
            page.wait_for_function(
                "n => document.querySelectorAll('.opblock').length >= n", arg=len(wanted), timeout=30_000
            )
        except PlaywrightTimeout:
            body = page.inner_text("body")[:500]
            pytest.fail(f"no operations rendered; page text {body!r}; problems {problems}")
        rendered = {
            tuple(pair)
            for pair in page.eval_on_selector_all(
                ".opblock",
                """blocks => blocks.map(b => [
                    (b.querySelector('.opblock-summary-method') || {}).textContent || '',
                    (b.querySelector('.opblock-summary-path') || {}).dataset?.path || ''])""",
            )
        }
        title = page.inner_text(".info .title")
        errors = page.eval_on_selector_all(".errors-wrapper, .loading-container .errors", "e => e.length")
    assert {(m.lower(), p) for m, p in rendered} == wanted
    assert document["info"]["title"] in title
    assert errors == 0
    assert problems == []
