"""The REST API (API Gateway v1): one method per route in loyalty.api.routes.api_routes(), each a
Lambda proxy integration of the function that serves it, each requiring an API key: the store key
(tills, e-shop, app) or the back-office key, each with its own usage plan. Back-office routes
(loyalty.api.access.BACK_OFFICE_ROUTES) answer 403 to any key but the back-office one: API Gateway
cannot limit a key to some methods of a stage, so the functions check the key id it passes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from loyalty.api.routes import Route
from loyalty.settings import env_name

STAGE_NAME = "prod"


@dataclass(frozen=True)
class Limits:
    """Per-key limits of the usage plan (store systems share one key unless the retailer adds more)."""

    rate_limit: float = 100  # requests per second, steady
    burst_limit: int = 200
    quota_per_day: int = 1_000_000
    # The stage's cap, across all keys: what the backend is sized for (ten keys at their full rate).
    stage_rate_limit: float = 1_000
    stage_burst_limit: int = 2_000


def stage_options(access_logs: logs.ILogGroup, rate_limit: float, burst_limit: int) -> apigw.StageOptions:
    """The `prod` stage of an API of the stack: JSON access logs, execution logs of failures, metrics,
    and the stage's throttling (the store API and the console's back-office API alike)."""
    return apigw.StageOptions(
        stage_name=STAGE_NAME,
        access_log_destination=apigw.LogGroupLogDestination(access_logs),
        access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
            caller=False,
            http_method=True,
            ip=True,
            protocol=True,
            request_time=True,
            resource_path=True,
            response_length=True,
            status=True,
            user=False,
        ),
        logging_level=apigw.MethodLoggingLevel.ERROR,  # execution logs of failed requests only
        throttling_rate_limit=rate_limit,
        throttling_burst_limit=burst_limit,
        metrics_enabled=True,
    )


class Api(Construct):
    """`add_routes(routes)` is the extension point: a new function's routes come from api_routes()."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        routes: Iterable[Route],
        limits: Limits = Limits(),
        admin_limits: Limits = Limits(rate_limit=20, burst_limit=40, quota_per_day=200_000),
        cloud_watch_role: bool = True,
    ):
        super().__init__(scope, construct_id)
        self.functions = functions
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            # Its own name (the 5xx alarm's ApiName dimension), not the construct id every stack shares.
            rest_api_name=f"{Stack.of(self).stack_name}-api",
            description="Loyalty API for store systems (x-api-key)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            # The account's API Gateway CloudWatch role (region-wide, retained on delete: other APIs of
            # the account use it too); infra/config.py api_gateway_cloudwatch_role turns it off.
            cloud_watch_role=cloud_watch_role,
            default_method_options=apigw.MethodOptions(api_key_required=True),
            deploy_options=stage_options(self.access_logs, limits.stage_rate_limit, limits.stage_burst_limit),
        )
        # The stack outputs the URL once, as ApiUrl; drop the RestApi's own duplicate output.
        self.rest_api.node.try_remove_child("Endpoint")
        self.api_key = apigw.ApiKey(self, "StoreKey", description="Store systems (POS, e-shop, app)")
        self.usage_plan = self._usage_plan("UsagePlan", self.api_key, "store systems", limits)
        # The back-office key (customer service, finance): its own plan; its id goes to every API
        # function (add_routes), so that back-office routes accept it and nothing else.
        self.admin_key = apigw.ApiKey(self, "AdminKey", description="Back office only; tills never hold it")
        self.admin_usage_plan = self._usage_plan(
            "AdminUsagePlan", self.admin_key, "the back office", admin_limits
        )
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        self.add_routes(routes)

    def _usage_plan(self, plan_id: str, key: apigw.IApiKey, who: str, limits: Limits) -> apigw.UsagePlan:
        plan = self.rest_api.add_usage_plan(
            plan_id,
            description=f"Throttling and daily quota for {who}",
            throttle=apigw.ThrottleSettings(rate_limit=limits.rate_limit, burst_limit=limits.burst_limit),
            quota=apigw.QuotaSettings(limit=limits.quota_per_day, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        plan.add_api_key(key)
        return plan

    def add_routes(self, routes: Iterable[Route]) -> None:
        for route in routes:
            if route.function not in self.functions:
                raise KeyError(f"{route.method} {route.path}: no function {route.function!r} in the stack")
            function = self.functions[route.function]
            if isinstance(function, lambda_.Function):  # idempotent: the same value for every route
                function.add_environment(env_name("admin_api_key_id"), self.admin_key.key_id)
            resource = self.rest_api.root.resource_for_path(route.path)
            self.methods[(route.method, route.path)] = resource.add_method(
                route.method,
                apigw.LambdaIntegration(self.functions[route.function], proxy=True, allow_test_invoke=False),
                api_key_required=True,
            )

    @property
    def url(self) -> str:
        return self.rest_api.url
