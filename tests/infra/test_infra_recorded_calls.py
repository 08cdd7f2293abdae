"""The real handlers under moto: every AWS call they make is recorded, attributed to the adapter method
that made it, and checked against loyalty.adapters.permissions. So the IAM grants in the template
(which come from that declaration) are what the code really needs: no more, no less. Covers the API
functions (ingest, points, and erasure with its pepper secret in Secrets Manager) and every step of the
monthly reclassification (DynamoDB, EventBridge, S3)."""

from __future__ import annotations

import contextvars
import functools
import importlib
import importlib.util
import inspect
import json
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import botocore.client
import pytest
from loyalty.adapters.permissions import ADAPTER_CALLS, ADAPTER_MODULES, FUNCTION_USES, accesses_of
from loyalty.settings import ERASURE, INGEST, POINTS, RECLASSIFY, REDEMPTIONS, Settings, env_name

from infra import ROOT

_real_call = botocore.client.BaseClient._make_api_call
_current = contextvars.ContextVar("adapter_method", default=None)
SETUP = "test setup"  # calls the test itself makes (not recorded)
_TRANSACT = {"Get": "GetItem", "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
             "ConditionCheck": "ConditionCheckItem"}  # fmt: skip


def _accesses(
    service: str, operation: str, params: dict, resource_of: dict[str, str]
) -> list[tuple[str, str, str | None, bool] | tuple[str, str, str | None, bool, str, bool]]:
    """IAM (action, settings field, index, on the bucket's objects[, object key, on the state machine's
    executions]) an API call needs."""
    if service == "s3":
        bucket = resource_of[params["Bucket"]]
        if operation == "ListObjectsV2":
            return [("s3:ListBucket", bucket, None, False)]
        if operation == "GetObject":
            # A missing key answers NoSuchKey only to a caller allowed s3:ListBucket (else 403).
            return [
                ("s3:GetObject", bucket, None, True, params["Key"], False),
                ("s3:ListBucket", bucket, None, False),
            ]
        assert operation == "PutObject", f"s3:{operation}: add its IAM action here"
        return [("s3:PutObject", bucket, None, True, params["Key"], False)]
    if service == "stepfunctions":
        if operation == "StartExecution":
            return [("states:StartExecution", resource_of[params["stateMachineArn"]], None, False)]
        assert operation == "DescribeExecution", f"states:{operation}: add its IAM action here"
        head, _, machine_and_name = params["executionArn"].rpartition(":execution:")
        machine = f"{head}:stateMachine:{machine_and_name.rsplit(':', 1)[0]}"
        return [("states:DescribeExecution", resource_of[machine], None, False, "", True)]
    if service == "secretsmanager":
        assert operation == "GetSecretValue", f"secretsmanager:{operation}: add its IAM action here"
        return [("secretsmanager:GetSecretValue", resource_of[params["SecretId"]], None, False)]
    if operation == "PutEvents":
        return [("events:PutEvents", resource_of[e["EventBusName"]], None, False) for e in params["Entries"]]
    assert service == "dynamodb", f"{service}:{operation}: add its IAM action here"
    if operation in ("TransactGetItems", "TransactWriteItems"):
        out = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            out.append((f"dynamodb:{_TRANSACT[kind]}", resource_of[body["TableName"]], None, False))
        return out
    return [(f"dynamodb:{operation}", resource_of[params["TableName"]], params.get("IndexName"), False)]


@pytest.fixture
def recorded(monkeypatch) -> Iterator[list]:
    from loyalty.adapters.models import MODELS, bind_models
    from loyalty.api import deps
    from loyalty.settings import get_settings
    from moto import mock_aws

    from tests.helpers import use_services

    # The defaults, whatever an earlier test in this worker left in the environment (the local runner
    # sets LOYALTY_RUN_BUCKET for the handlers it runs in process).
    for field in fields(Settings):
        monkeypatch.delenv(field.metadata["env"], raising=False)
    get_settings.cache_clear()
    settings = Settings()
    resource_of = {getattr(settings, field): field for field in MODELS} | {
        settings.event_bus_name: "event_bus_name",
        settings.run_bucket: "run_bucket",
    }
    calls: list = []

    def recording(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        method = _current.get()
        if method != SETUP:
            service = self.meta.service_model.service_name
            for access in _accesses(service, operation_name, api_params, resource_of):
                calls.append((method, *access))
        return _real_call(self, operation_name, api_params)

    for method in ADAPTER_CALLS:
        cls_name, name = method.split(".")
        cls = getattr(importlib.import_module(ADAPTER_MODULES[cls_name]), cls_name)

        def wrap(fn, method=method):  # type: ignore[no-untyped-def]
            if inspect.isgeneratorfunction(fn):  # its calls happen while it is iterated (scan_segment)

                @functools.wraps(fn)
                def generator(*args, **kwargs):  # type: ignore[no-untyped-def]
                    inner = fn(*args, **kwargs)
                    while True:
                        token = _current.set(_current.get() or method)
                        try:
                            item = next(inner)
                        except StopIteration:
                            return
                        finally:
                            _current.reset(token)
                        yield item

                return generator

            @functools.wraps(fn)
            def inner(*args, **kwargs):  # type: ignore[no-untyped-def]
                token = _current.set(_current.get() or method)
                try:
                    return fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return inner

        monkeypatch.setattr(cls, name, wrap(getattr(cls, name)))

    with mock_aws():
        import boto3

        bind_models(settings)
        for model in MODELS.values():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        boto3.client("events").create_event_bus(Name=settings.event_bus_name)
        boto3.client("s3").create_bucket(
            Bucket=settings.run_bucket,
            CreateBucketConfiguration={"LocationConstraint": boto3.session.Session().region_name},
        )
        # The erasure pepper comes from a secret, as in the stack (LOYALTY_ERASURE_PEPPER_SECRET = its ARN).
        secret = boto3.client("secretsmanager").create_secret(Name="pepper", SecretString="p" * 64)["ARN"]
        resource_of[secret] = "erasure_pepper_secret"
        # The reclassification's state machine, named as CDK names it (the what-if starts it; moto does
        # not run its steps).
        machine = boto3.client("stepfunctions").create_state_machine(
            name="LoyaltyStack-reclassification",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/states",
        )["stateMachineArn"]
        resource_of[machine] = "reclassify_state_machine"
        monkeypatch.setenv(env_name("erasure_pepper_secret"), secret)
        get_settings.cache_clear()
        deps.services.cache_clear()
        use_services(None)
        with mock.patch.object(botocore.client.BaseClient, "_make_api_call", recording):
            yield calls
        deps.services.cache_clear()
    get_settings.cache_clear()


def _handler_module(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "functions" / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _handler(name: str):  # type: ignore[no-untyped-def]
    return _handler_module(name).handler


def _event(method: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"requestId": "req-1", "stage": "prod", "httpMethod": method, "path": path},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


_CONTEXT = SimpleNamespace(
    function_name="f", memory_limit_in_mb=512, invoked_function_arn="arn:aws:lambda:eu-west-1:1:function:f",
    aws_request_id="req-1",
)  # fmt: skip


def _purchase(transaction_id: str, amount: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    occurred = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    return {"transaction_id": transaction_id, "customer_id": "C1", "store_id": "S1", "channel": "store",
            "occurred_at": occurred, "currency": "EUR", "amount": amount, **extra}  # fmt: skip


def rewarding_programme(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A programme whose purchases read and write what earning rules and rewards need: a capped rule
    (the month's counter), gold's reward voucher, and the current month a season month (the run's
    conversion). The handlers build their services from it."""
    from loyalty.api import deps
    from loyalty.settings import get_settings

    from tests.helpers import DEFAULT_PROGRAMME

    data = json.loads(DEFAULT_PROGRAMME.read_text(encoding="utf-8"))
    data["earning"]["rules"] = [{"name": "visit", "bonus_points": 10, "cap": 100}]
    data["tiers"][2]["reward"] = {"percent": 10, "valid_days": 60}
    data["vouchers"]["season_months"] = list(range(1, 13))
    data["referrals"] = {"referrer_points": 100, "referee_points": 50, "max_per_referrer": 5}
    path = tmp_path / "rewarding.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv(env_name("programme_path"), str(path))
    get_settings.cache_clear()
    deps.services.cache_clear()


def test_handlers_make_exactly_the_declared_calls(recorded, tmp_path, monkeypatch):
    rewarding_programme(tmp_path, monkeypatch)
    ingest, points = _handler(INGEST), _handler(POINTS)
    big = _purchase("T1", "700.00")  # crosses the top tier: publishes CustomerTierChanged
    answers = [
        ingest(_event("POST", "/v1/transactions", big), _CONTEXT),
        ingest(_event("POST", "/v1/transactions", big), _CONTEXT),  # a retry: replayed
        ingest(
            _event("POST", "/v1/transactions", _purchase("R1", "100.00", original_transaction_id="T1")),
            _CONTEXT,
        ),
    ]
    assert [a["statusCode"] for a in answers] == [201, 201, 201], answers
    coded = ingest(_event("POST", "/v1/customers/C1/referral-code"), _CONTEXT)
    assert coded["statusCode"] == 200, coded
    referred = {**_purchase("T5", "40.00"), "customer_id": "C5",
                "referral_code": json.loads(coded["body"])["referral_code"]}  # fmt: skip
    answer = ingest(_event("POST", "/v1/transactions", referred), _CONTEXT)
    assert json.loads(answer["body"])["referral"]["status"] == "rewarded", answer
    occurred = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    enrol = {"customer_id": "C2", "enrolled_at": occurred, "channel": "web", "consents": {"email": True}}
    seen = {"interaction_id": "I1", "kind": "app_open", "occurred_at": occurred, "channel": "app"}
    members = [
        ingest(_event("POST", "/v1/customers", enrol), _CONTEXT),
        ingest(_event("PATCH", "/v1/customers/C2", {"consents": {"sms": True}, "source": "app"}), _CONTEXT),
        ingest(_event("POST", "/v1/customers/C2/interactions", seen), _CONTEXT),
        ingest(_event("POST", "/v1/customers/C2/interactions", seen), _CONTEXT),  # a retry: replayed
    ]
    assert [a["statusCode"] for a in members] == [201, 200, 201, 201], members
    ingest_calls = list(recorded)
    recorded.clear()
    for path in ("/v1/customers/C1", "/v1/customers/C1/transactions", "/v1/customers/C1/points-history"):
        answer = points(_event("GET", path), _CONTEXT)
        assert answer["statusCode"] == 200, answer
    # The back office's runs page, as a signed-in marketing user: the summaries from the run bucket.
    token = _current.set(SETUP)
    from loyalty.adapters.runstore import S3RunStore

    S3RunStore(Settings().run_bucket).put("reclassification/2026-11/summary.json", {"period": "2026-11"})
    _current.reset(token)
    runs = _event("GET", "/v1/back-office/runs")
    runs["requestContext"]["authorizer"] = {"claims": {"sub": "u1", "cognito:groups": "marketing"}}
    answer = points(runs, _CONTEXT)
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["runs"] == [{"period": "2026-11"}]
    what_if(points)
    points_calls = list(recorded)

    for function, calls in ((INGEST, ingest_calls), (POINTS, points_calls)):
        _check(function, calls)


def test_the_erasure_makes_exactly_the_declared_calls(recorded):
    """A customer with purchases and a redeemed voucher, erased (pepper read from the secret), then
    erased again (the already-erased path reads the erasure record)."""
    from loyalty.service.erasure import erasure_token

    ingest, redemptions, erasure = _handler(INGEST), _handler(REDEMPTIONS), _handler(ERASURE)
    purchase = _event("POST", "/v1/transactions", _purchase("T1", "800.00"))
    assert ingest(purchase, _CONTEXT)["statusCode"] == 201
    redeem = _event("POST", "/v1/customers/C1/redemptions", {"redemption_id": "RD1", "points": 500})
    assert redemptions(redeem, _CONTEXT)["statusCode"] == 201
    occurred = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    seen = {"interaction_id": "I1", "kind": "review", "occurred_at": occurred, "channel": "web"}
    assert ingest(_event("POST", "/v1/customers/C1/interactions", seen), _CONTEXT)["statusCode"] == 201
    assert ingest(_event("POST", "/v1/customers/C1/referral-code"), _CONTEXT)["statusCode"] == 200
    recorded.clear()
    answers = [erasure(_event("DELETE", "/v1/customers/C1"), _CONTEXT) for _ in range(2)]
    assert [a["statusCode"] for a in answers] == [204, 204], answers
    assert [c for c in recorded if c[0] == "SecretsManagerPepper.get"] == [
        ("SecretsManagerPepper.get", "secretsmanager:GetSecretValue", "erasure_pepper_secret", None, False)
    ], "read once per container"
    _check(ERASURE, list(recorded))

    from loyalty.adapters.customer_store import DynamoCustomerStore

    token = _current.set(SETUP)
    try:  # the token is keyed by the secret's value, not by the local default pepper
        assert DynamoCustomerStore().get(erasure_token("C1", "p" * 64)) is not None
        assert DynamoCustomerStore().get(erasure_token("C1", Settings().erasure_pepper)) is None
    finally:
        _current.reset(token)


def test_the_redemptions_function_makes_exactly_the_declared_calls(recorded, monkeypatch):
    """Redeem (and its replay), list, use (twice: the second reads the voucher), and the back-office
    cancel and adjustment (and its replay) with the admin key's id as API Gateway passes it."""
    from loyalty.api import deps
    from loyalty.settings import get_settings

    monkeypatch.setenv(env_name("admin_api_key_id"), "admin-id")
    get_settings.cache_clear()
    deps.services.cache_clear()
    ingest, redemptions = _handler(INGEST), _handler(REDEMPTIONS)
    assert (
        ingest(_event("POST", "/v1/transactions", _purchase("T1", "2000.00")), _CONTEXT)["statusCode"] == 201
    )
    recorded.clear()
    codes = []
    for redemption_id in ("RD1", "RD1", "RD2"):
        redeem = _event(
            "POST", "/v1/customers/C1/redemptions", {"redemption_id": redemption_id, "points": 500}
        )
        answer = redemptions(redeem, _CONTEXT)
        assert answer["statusCode"] == 201, answer
        codes.append(json.loads(answer["body"])["voucher"]["code"])
    assert redemptions(_event("GET", "/v1/customers/C1/vouchers"), _CONTEXT)["statusCode"] == 200
    use = _event("POST", f"/v1/vouchers/{codes[0]}/use", {"use_id": "U1"})
    assert [redemptions(use, _CONTEXT)["statusCode"] for _ in range(2)] == [200, 200]
    cancel = _event("POST", f"/v1/vouchers/{codes[2]}/cancel")
    cancel["requestContext"]["identity"] = {"apiKeyId": "admin-id"}
    assert redemptions(cancel, _CONTEXT)["statusCode"] == 200
    adjust = _event(
        "POST", "/v1/customers/C1/adjustments", {"adjustment_id": "A1", "points": 50, "reason": "goodwill"}
    )
    adjust["requestContext"]["identity"] = {"apiKeyId": "admin-id"}
    assert [redemptions(adjust, _CONTEXT)["statusCode"] for _ in range(2)] == [201, 201]  # and its replay
    deps.services.cache_clear()
    _check(REDEMPTIONS, list(recorded))


def what_if(points) -> None:  # type: ignore[no-untyped-def]
    """The back office's what-if through the points handler, on moto's Step Functions (the machine
    the fixture created, as CDK names it; moto does not run its steps): a start, its retry, two polls. The
    execution's input is the state machine's dry-run input, the candidate in the bucket under it."""
    import boto3
    from loyalty.api import deps
    from loyalty.settings import get_settings

    from tests.helpers import DEFAULT_PROGRAMME

    token = _current.set(SETUP)
    sfn = boto3.client("stepfunctions")
    (machine,) = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
    _current.reset(token)
    mp = pytest.MonkeyPatch()
    mp.setenv(env_name("reclassify_state_machine"), machine)
    get_settings.cache_clear()
    deps.services.cache_clear()
    try:
        candidate = json.loads(DEFAULT_PROGRAMME.read_text(encoding="utf-8"))
        candidate["tiers"][1]["any_of"] = {"spend_12m": "100.00"}
        post = _event("POST", "/v1/back-office/programme/what-if", candidate, {"as_of": "2026-12-01"})
        post["requestContext"]["authorizer"] = {"claims": {"sub": "u1", "cognito:groups": "marketing"}}
        first, again = points(post, _CONTEXT), points(post, _CONTEXT)
        assert first["statusCode"] == again["statusCode"] == 202, first
        assert first["body"] == again["body"]
        started = json.loads(first["body"])
        poll = _event("GET", started["poll"])
        poll["requestContext"]["authorizer"] = post["requestContext"]["authorizer"]
        assert points(poll, _CONTEXT)["statusCode"] in (200, 202, 409)
        token = _current.set(SETUP)
        (execution,) = sfn.list_executions(stateMachineArn=machine)["executions"]
        assert execution["name"] == started["what_if_id"]
        run_input = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
        assert run_input == {"as_of": "2026-12-01", "dry_run": True, "programme": run_input["programme"]}
        assert run_input["programme"].startswith("what-if/candidates/")
        body = boto3.client("s3").get_object(Bucket=Settings().run_bucket, Key=run_input["programme"])["Body"]
        assert json.loads(body.read())["tiers"][1]["any_of"] == {"spend_12m": "100.00"}
        _current.reset(token)
    finally:
        mp.undo()
        get_settings.cache_clear()
        deps.services.cache_clear()


def _check(function: str, calls: list) -> None:
    outside = [c for c in calls if c[0] is None]
    assert not outside, f"{function}: AWS calls outside the adapters: {outside}"
    used = {method for method, *_ in calls}
    assert used == set(FUNCTION_USES[function]), f"{function}: FUNCTION_USES differs from what it calls"
    for method in used:
        accesses = accesses_of([method])
        declared = {
            (action, access.resource, access.index, access.objects, access.prefix, access.executions)
            for access in accesses
            for action in access.actions
        }
        prefixes = sorted({a.prefix for a in accesses if a.prefix}, key=len, reverse=True)
        made = set()
        for _, *access in calls:
            if _ != method:
                continue
            action, resource, index, objects, key, executions = (*access, "", False)[:6]
            # An object call is within a declared prefix when its key starts with it (else: none).
            prefix = next((p for p in prefixes if key.startswith(p)), "")
            made.add((action, resource, index, objects, prefix, executions))
        assert made == declared, method


def test_the_reclassification_makes_exactly_the_declared_calls(recorded, monkeypatch, tmp_path):
    """Every step (prepare, stats, merge, classify, summarize) through the Lambda handler, with one
    version conflict on a save so the re-read path runs too, and a season's conversion."""
    rewarding_programme(tmp_path, monkeypatch)
    from loyalty.adapters.customer_store import DynamoCustomerScan
    from loyalty.adapters.models import CustomerItem
    from loyalty.service.reclassify import run_steps

    ingest = _handler(INGEST)
    for n in range(3):  # C0's 530 points make one season voucher
        body = {**_purchase(f"T{n}", "500.00" if n == 0 else "30.00"), "customer_id": f"C{n}"}
        assert ingest(_event("POST", "/v1/transactions", body), _CONTEXT)["statusCode"] == 201
    # C3 bought nothing for 24 months by the run: its points expire (the ledger's entry goes with them)
    old = (datetime.now(UTC) - timedelta(days=729)).isoformat(timespec="seconds")
    body = {**_purchase("T3", "30.00"), "customer_id": "C3", "occurred_at": old}
    assert ingest(_event("POST", "/v1/transactions", body), _CONTEXT)["statusCode"] == 201
    recorded.clear()

    save = DynamoCustomerScan.save_classification  # the recording wrapper
    conflicts: list[str] = []

    def save_after_a_concurrent_write(self, profile, expected_version, before=None):  # type: ignore[no-untyped-def]
        if not conflicts:  # someone else writes this customer between the scan and the save
            conflicts.append(profile.customer_id)
            token = _current.set(SETUP)
            try:
                CustomerItem.get(profile.customer_id).update(actions=[CustomerItem.version.add(1)])
            finally:
                _current.reset(token)
        return save(self, profile, expected_version, before)

    monkeypatch.setattr(DynamoCustomerScan, "save_classification", save_after_a_concurrent_write)
    module = _handler_module(RECLASSIFY)
    as_of = (date.today().replace(day=1) + timedelta(days=32)).replace(day=1)
    result = run_steps(module.service(), as_of, "recorded", 2, step=lambda event: module.handler(event, None))
    assert conflicts and result["summary"]["conflicts"] == 1
    assert result["summary"]["changed"] == 4 and result["summary"]["published"] is True
    # C0 earns a block again within the season: the rerun finds its conversion done (and republishes)
    token = _current.set(SETUP)
    try:
        body = {**_purchase("T9", "500.00"), "customer_id": "C0"}
        assert ingest(_event("POST", "/v1/transactions", body), _CONTEXT)["statusCode"] == 201
    finally:
        _current.reset(token)
    run_steps(module.service(), as_of, "rerun", 2, step=lambda event: module.handler(event, None))
    _check(RECLASSIFY, list(recorded))
