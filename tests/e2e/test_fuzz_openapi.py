"""Property-based fuzzing of every operation in the served OpenAPI document (schemathesis 4) against the
local stack: never a 5xx, and responses whose status codes and bodies match the documented ones.

The schema is loaded from the stack's /openapi.json; each operation is one test, fuzzed with a bounded
number of examples (hypothesis, derandomized so that CI runs are repeatable)."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from loyalty.api.routes import api_routes
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

# Per operation: the whole fuzz stays well under a minute. LOYALTY_FUZZ_EXAMPLES=500 for a deeper run.
MAX_EXAMPLES = int(os.environ.get("LOYALTY_FUZZ_EXAMPLES", "25"))
OPERATIONS = [(r.method, r.path) for r in api_routes()]
BACK_OFFICE = {(r.method, r.path) for r in api_routes() if r.audience == "back_office"}


@pytest.fixture(scope="module")
def served_schema(stack):
    return schemathesis.openapi.from_url(stack.api_url + "/openapi.json")


def test_the_served_document_lists_every_route(served_schema):
    served = {(op.ok().method.upper(), op.ok().path) for op in served_schema.get_all_operations()}
    assert served == set(OPERATIONS)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_answers_as_documented(stack, served_schema, method, path, mode):
    """Positive: valid requests by the schema. Negative: requests that break it (a 4xx, never a 5xx)."""
    operation = served_schema[path][method]
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        calls.append(case)
        case.call_and_validate(
            base_url=stack.api_url,
            session=stack.session,
            # Back-office operations with the admin key: fuzz what they do, not the 403 (tested apart)
            headers={"x-api-key": stack.admin_api_key if (method, path) in BACK_OFFICE else stack.api_key},
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            timeout=60,
        )

    fuzz()
    assert len(calls) >= min(MAX_EXAMPLES, 10)  # the operation really was exercised
