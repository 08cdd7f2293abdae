"""The REST API: exactly the routes api_routes() derives from the routers, each keyed and throttled."""

from __future__ import annotations

from loyalty.api.routes import api_routes

from infra.api import STAGE_NAME


def _of_api(synth, kind: str, rest_api=None) -> dict[str, dict]:
    """The resources of one REST API (the store API unless told: the console has its own)."""
    api_id = {"Ref": synth.logical_id(rest_api or synth.stack.api.rest_api)}
    return {k: r for k, r in synth.all_resources(kind).items() if r["Properties"].get("RestApiId") == api_id}


def _paths(synth, rest_api=None) -> dict[str, str]:
    """Logical id of each API Gateway resource -> its full path."""
    rest_api = rest_api or synth.stack.api.rest_api
    resources = _of_api(synth, "AWS::ApiGateway::Resource", rest_api)
    root = {"Fn::GetAtt": [synth.logical_id(rest_api), "RootResourceId"]}

    def path_of(logical_id: str) -> str:
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = "" if parent == root else path_of(parent["Ref"])
        return f"{prefix}/{props['PathPart']}"

    return {logical_id: path_of(logical_id) for logical_id in resources}


def _methods(synth, rest_api=None) -> dict[tuple[str, str], dict]:
    paths = _paths(synth, rest_api)
    out = {}
    for method in _of_api(synth, "AWS::ApiGateway::Method", rest_api).values():
        props = method["Properties"]
        out[(props["HttpMethod"], paths[props["ResourceId"]["Ref"]])] = props
    return out


def test_routes_equal_api_routes(synth):
    assert set(_methods(synth)) == {(r.method, r.path) for r in api_routes()}


def test_each_route_is_a_proxy_integration_of_its_function(synth):
    methods = _methods(synth)
    for route in api_routes():
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        fn_id = synth.logical_id(synth.stack.functions.functions[route.function])
        assert f"${{{fn_id}.Arn}}" in synth.render(integration["Uri"])


def test_every_method_requires_the_api_key(synth):
    for key, props in _methods(synth).items():
        assert props["ApiKeyRequired"] is True, key


def test_each_key_has_its_own_usage_plan_that_throttles_and_caps_it(synth):
    """The store key and the back-office key: one usage plan each, on the stage, each with limits."""
    plans = synth.resources("AWS::ApiGateway::UsagePlan")
    plan_keys = synth.resources("AWS::ApiGateway::UsagePlanKey").values()
    key_of_plan = {pk["Properties"]["UsagePlanId"]["Ref"]: pk["Properties"]["KeyId"] for pk in plan_keys}
    keys = {
        synth.logical_id(synth.stack.api.usage_plan): synth.stack.api.api_key,
        synth.logical_id(synth.stack.api.admin_usage_plan): synth.stack.api.admin_key,
    }
    assert set(plans) == set(keys) == set(key_of_plan)
    for plan_id, key in keys.items():
        props = plans[plan_id]["Properties"]
        assert props["Throttle"]["RateLimit"] > 0 and props["Throttle"]["BurstLimit"] > 0
        assert props["Quota"]["Limit"] > 0
        assert props["ApiStages"][0]["Stage"] == {
            "Ref": synth.logical_id(synth.stack.api.rest_api.deployment_stage)
        }
        assert key_of_plan[plan_id] == {"Ref": synth.logical_id(key)}
    assert len(synth.resources("AWS::ApiGateway::ApiKey")) == 2


def test_every_api_function_knows_the_admin_key_id(synth):
    """Back-office routes answer 403 to any key but the admin one: the functions check the key id API
    Gateway passes them against this variable (API Gateway cannot restrict a key to some methods)."""
    from loyalty.settings import env_name

    admin = {"Ref": synth.logical_id(synth.stack.api.admin_key)}
    for function in {route.function for route in api_routes()}:
        fn_id = synth.logical_id(synth.stack.functions.functions[function])
        env = synth.resources("AWS::Lambda::Function")[fn_id]["Properties"]["Environment"]["Variables"]
        assert env[env_name("admin_api_key_id")] == admin, function


def test_stage_writes_access_logs(synth):
    (stage,) = _of_api(synth, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == STAGE_NAME
    # The log group's ARN without its trailing ":*", as the recommended feature flags (cdk.json) build it.
    assert synth.render(props["AccessLogSetting"]["DestinationArn"]) == (
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
        f"${{{synth.logical_id(synth.stack.api.access_logs)}}}"
    )


def test_outputs(synth):
    outputs = synth.template["Outputs"]
    assert {"ApiUrl", "ApiKeyId", "AdminApiKeyId", "EventBusName"} <= set(outputs)
    assert outputs["ApiKeyId"]["Value"] == {"Ref": synth.logical_id(synth.stack.api.api_key)}
    assert outputs["AdminApiKeyId"]["Value"] == {"Ref": synth.logical_id(synth.stack.api.admin_key)}
    assert outputs["EventBusName"]["Value"] == {"Ref": synth.logical_id(synth.stack.bus)}
    for setting, table in synth.stack.tables.items():
        assert {"Ref": synth.logical_id(table)} in [o["Value"] for o in outputs.values()], setting
