"""Property-based fuzzing of every operation in the served OpenAPI document (schemathesis 4) against the
local stack: never a 5xx, and responses whose status codes and bodies match the documented ones.

The schema is loaded from the stack's /openapi.json; each operation is one test, fuzzed with a bounded
number of examples (hypothesis, derandomized so that CI runs are repeatable)."""

import os
import tempfile
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
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


# The stateful phase: scenarios that follow the document's links (purchase -> return, card, history,
# redemption, erasure; redemption -> voucher use, voucher list), on real ids from real answers.
STATEFUL_SCENARIOS = int(os.environ.get("LOYALTY_FUZZ_SCENARIOS", "40"))
# Some runs, hypothesis keeps drawing scenarios well past max_examples (ten times as many calls, five
# minutes on 2 busy cores) before it reports flaky generation: the calls are bounded here instead.
CALL_BUDGET = 25 * STATEFUL_SCENARIOS
STATEFUL_OPERATIONS = [
    "POST /v1/transactions", "GET /v1/customers/{customer_id}",
    "GET /v1/customers/{customer_id}/transactions", "POST /v1/customers/{customer_id}/redemptions",
    "GET /v1/customers/{customer_id}/vouchers",
    "POST /v1/vouchers/{code}/use", "DELETE /v1/customers/{customer_id}",
]  # fmt: skip


def _small(amount: object) -> bool:
    """A generated amount a well-formed decimal below 500 (most of them)."""
    return isinstance(amount, str) and amount.replace(".", "", 1).isdigit() and Decimal(amount) < 500


@pytest.fixture(scope="module")
def own_stack():
    """A stack of its own: run after other test files on the session's shared stack, the scenarios
    met state those left behind and hypothesis saw the same steps draw differently (flaky generation)."""
    from tests.e2e.conftest import running_stack

    with tempfile.TemporaryDirectory() as state, running_stack({"LOYALTY_STATE_DIR": state}) as fresh:
        yield fresh  # its own state dir too: the suite's CLI tests read the shared stack's record


def test_stateful_scenarios_follow_the_links_without_a_server_error(own_stack):
    stack = own_stack
    import uuid
    from collections import Counter
    from datetime import UTC, datetime, timedelta

    statuses: Counter = Counter()
    followed: Counter = Counter()
    issued: set[str] = set()
    failures: list[str] = []  # every check that failed, as a curl command and what came back
    # A schema of its own: what the stateless tests taught the shared one would change the scenarios.
    # The money path the links join, and only it: with every operation in, hypothesis drew scenarios
    # that never started at a purchase (other operations' 4xx), so no link was ever followed. The
    # other operations are fuzzed one by one above.
    served = schemathesis.openapi.from_url(stack.api_url + "/openapi.json")
    base = served.include(name=STATEFUL_OPERATIONS).as_state_machine()

    # One instant for every transaction of the phase: a replayed scenario sends the same bodies.
    occurred_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")

    class Scenarios(base):  # type: ignore[misc, valid-type]
        """Each scenario writes under ids of its own (a suffix), so that hypothesis replaying it meets
        the same state as the first time: the stack keeps what earlier scenarios wrote."""

        def setup(self):
            self.suffix = "-" + uuid.uuid4().hex[:8]
            self.amounts: dict[str, str] = {}  # purchase id -> amount, for returns that fit
            self.balances: dict[str, int] = {}  # customer id -> last balance, for redemptions that fit

        def _own(self, value):
            return (
                value + self.suffix if isinstance(value, str) and not value.endswith(self.suffix) else value
            )

        def before_call(self, case):
            if sum(statuses.values()) >= CALL_BUDGET:
                reject()  # the budget is spent: hypothesis ends the phase on examples that cost nothing
            if "customer_id" in (case.path_parameters or {}):
                case.path_parameters["customer_id"] = self._own(case.path_parameters["customer_id"])
            if isinstance(case.body, dict):
                for key in ("transaction_id", "customer_id", "original_transaction_id", "redemption_id"):
                    if key in case.body:
                        case.body[key] = self._own(case.body[key])
                # Stateless fuzzing covers any date; here transactions are dated within the programme's
                # bounds so that purchases are recorded and their links (returns, redemptions) reached.
                if case.operation.path == "/v1/transactions":
                    case.body["occurred_at"] = occurred_at
                    # A return that follows the link returns its purchase whole (the generated amount
                    # is almost never within it): the deep path, points back and a tier reversed.
                    original = case.body.get("original_transaction_id")
                    if original in self.amounts:
                        case.body["amount"] = self.amounts[original]
                        case.body.pop("lines", None)
                    elif original is None and _small(case.body.get("amount")):
                        # Enough for a voucher block, so that redemptions and voucher uses are reached.
                        case.body["amount"] = "600.00"
            balance = self.balances.get((case.path_parameters or {}).get("customer_id"), 0)
            if (
                case.operation.path.endswith("/redemptions")
                and isinstance(case.body, dict)
                and balance >= 500
            ):
                points = case.body.get("points")
                if not isinstance(points, int) or points > balance:
                    case.body["points"] = balance // 500 * 500

        def get_call_kwargs(self, case):
            return {"base_url": stack.api_url, "headers": {"x-api-key": stack.api_key}, "timeout": 60}

        def after_call(self, response, case):
            statuses[response.status_code] += 1
            body = case.body if isinstance(case.body, dict) else {}
            if response.status_code == 201 and case.operation.path.endswith("/redemptions"):
                self.balances[response.json()["customer_id"]] = response.json()["points_balance"]
                issued.add(response.json()["voucher"]["code"])
            if case.operation.path == "/v1/vouchers/{code}/use" and case.path_parameters["code"] in issued:
                followed["use of an issued voucher"] += 1  # the redemption's link, whatever the answer
            if response.status_code == 201 and case.operation.path == "/v1/transactions":
                answer = response.json()
                self.balances[answer["customer_id"]] = answer["points_balance"]
                if answer["type"] == "purchase":
                    self.amounts[answer["transaction_id"]] = body["amount"]
            if response.status_code < 300:
                kind = "return" if body.get("original_transaction_id") else case.operation.method.upper()
                followed[f"{kind} {case.operation.path}"] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Recorded, not raised: a raise makes hypothesis shrink by replaying scenarios against a
            # stack that has moved on (and then report flaky generation instead of the defect).
            try:
                case.validate_response(
                    response,
                    checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
                )
            except Exception as failure:
                failures.append(f"{case.as_curl_command()}\n  -> {response.status_code}: {failure}")

    from hypothesis.errors import Flaky, Unsatisfiable

    try:
        Scenarios.run(
            settings=settings(
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=10,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
        )
    except (Flaky, Unsatisfiable) as exc:
        # The scenarios' draws depend on the answers (links are followed only from 2xx answers, and
        # schemathesis learns from 4xx ones), and the stack keeps what earlier scenarios wrote, so
        # hypothesis may find a replayed prefix drawing differently and stop generating. Every answer
        # it did get was checked above; the counts below make sure that was most of the phase.
        print(
            f"stateful generation stopped early ({type(exc).__name__}) after {sum(statuses.values())} cases"
        )
    cases = sum(statuses.values())
    print(f"stateful: {cases} cases, {sum(n for s, n in statuses.items() if s >= 500)} server errors, "
          f"statuses {dict(sorted(statuses.items()))}, followed {dict(followed)}")  # fmt: skip
    assert not failures, "\n".join(failures[:10])
    assert not any(status >= 500 for status in statuses)
    assert cases >= STATEFUL_SCENARIOS * 5  # about 10 per scenario when it runs to its end
    # The links were followed to the end: a purchase returned, an issued voucher presented for use.
    assert followed["return /v1/transactions"] and followed["use of an issued voucher"], dict(followed)
