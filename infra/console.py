"""The back-office console in AWS: its pages and the API it calls on one origin, through API Gateway.

A second REST API, `BackOfficeApi`, carries the same routes as the store API (api_routes(), the same
functions) with the Cognito user pool as authorizer instead of API keys: the functions read the
user's groups from `requestContext.authorizer.claims` and gate by them (loyalty.api.access). The same
API serves the console's static files from a private bucket (`GET /admin`, `GET /admin/{file}`, an S3
integration with a read-only role), so pages and API share an origin: no CORS, no second domain, no
CloudFront distribution to secure. Why this over S3 + CloudFront: docs/back-office.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from aws_cdk import RemovalPolicy, Size, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct
from loyalty.api.routes import Route

from infra.api import stage_options
from infra.regions import nag_partition_and_region

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
PREFIX = "console"
# The console's own policy, as the local gateway sends it (tools/loyalty_tools/console_server.py).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; connect-src 'self' https://*.amazoncognito.com"
)  # the one addition to the local policy: the token exchange with the user pool's managed login
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Console(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        routes: Iterable[Route],
        user_pool: cognito.IUserPool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Pages",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,  # a copy of console/, redeployed with every stack update
            auto_delete_objects=False,
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            sources=[s3deploy.Source.asset(str(CONSOLE_DIR))],
            destination_bucket=self.bucket,
            destination_key_prefix=PREFIX,
            prune=True,
        )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{Stack.of(self).stack_name}-back-office",
            description="The back-office console and the API it calls (Cognito users, groups support and "
            "marketing)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,  # the store API's account-wide role serves this API too
            min_compression_size=Size.kibibytes(1),  # the pages' 64 KB travel as about 23 KB gzipped
            # People at a console, not tills: a lower cap than the store API's.
            deploy_options=stage_options(self.access_logs, rate_limit=50, burst_limit=100),
        )
        self.rest_api.node.try_remove_child("Endpoint")
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Users",
            cognito_user_pools=[user_pool],
            identity_source="method.request.header.Authorization",
        )
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in routes:
            resource = self.rest_api.root.resource_for_path(route.path)
            self.methods[(route.method, route.path)] = resource.add_method(
                route.method,
                apigw.LambdaIntegration(functions[route.function], proxy=True, allow_test_invoke=False),
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
            )
        self._pages()

    def _pages(self) -> None:
        """GET /admin (index.html) and GET /admin/{file}: S3 GetObject under console/, read-only role."""
        role = iam.Role(
            self,
            "PagesRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway reads the console's files, nothing else",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects(f"{PREFIX}/*")]
            )
        )
        headers = {f"method.response.header.{k}": f"'{v}'" for k, v in PAGE_HEADERS.items()}
        content_type = "method.response.header.Content-Type"
        method_responses = [
            apigw.MethodResponse(
                status_code=code, response_parameters={k: True for k in [*headers, content_type]}
            )
            for code in ("200", "404")
        ]

        def integration(key: str, parameters: dict[str, str] | None = None) -> apigw.AwsIntegration:
            return apigw.AwsIntegration(
                service="s3",
                integration_http_method="GET",
                path=f"{self.bucket.bucket_name}/{PREFIX}/{key}",
                options=apigw.IntegrationOptions(
                    credentials_role=role,
                    request_parameters=parameters,
                    integration_responses=[
                        apigw.IntegrationResponse(
                            status_code="200",
                            response_parameters={
                                **headers,
                                content_type: "integration.response.header.Content-Type",
                            },
                        ),
                        apigw.IntegrationResponse(
                            status_code="404",
                            selection_pattern="4\\d\\d",
                            response_parameters={**headers, content_type: "'text/plain'"},
                        ),
                    ],
                ),
            )

        admin = self.rest_api.root.add_resource("admin")
        self.page_methods = [
            admin.add_method("GET", integration("index.html"), method_responses=method_responses),
            admin.add_resource("{file}").add_method(
                "GET",
                integration("{file}", {"integration.request.path.file": "method.request.path.file"}),
                request_parameters={"method.request.path.file": True},
                method_responses=method_responses,
            ),
        ]

    def add_sign_in(self, domain_url: str, client_id: str) -> None:
        """config.json beside the pages: the page signs in through the user pool's managed login."""
        config = {"signIn": "cognito", "domain": domain_url, "clientId": client_id, "redirectUri": self.url}
        self.deployment.add_source(s3deploy.Source.json_data("config.json", config))

    @property
    def url(self) -> str:
        return self.rest_api.url + "admin/"


def acknowledge_console_findings(stack: Stack, console: Console) -> None:
    """The cdk-nag findings of the console we accept, each on its construct, with the reason."""
    from aws_cdk import Acknowledgment, Validations

    Validations.of(console.bucket).acknowledge(
        Acknowledgment(
            id="AwsSolutions-S1",
            reason="No server access logs for the console's pages: they are public files (HTML, JS, CSS) "
            "with no customer data, read only by API Gateway, whose access log records every request.",
        )
    )
    Validations.of(console.rest_api).acknowledge(
        Acknowledgment(
            id="AwsSolutions-APIG2",
            reason="Request validation is done by the Lambdas (pydantic via Powertools), the same code as "
            "the store API, answering 400 with the field named; an API Gateway schema would drift.",
        ),
        Acknowledgment(
            id="AwsSolutions-APIG3",
            reason="No WAF web ACL by default: every API method needs a Cognito user of the pool (MFA "
            "required, no self sign-up) and the stage is throttled; retailers attach their WAF if wanted.",
        ),
    )
    for method in console.page_methods:
        Validations.of(method).acknowledge(
            Acknowledgment(
                id="AwsSolutions-APIG4",
                reason="The console's static pages are public by design: the sign-in page must load "
                "before anyone is signed in, and they hold no data; every API call needs a Cognito token.",
            ),
            Acknowledgment(
                id="AwsSolutions-COG4",
                reason="The console's static pages load before sign-in (see APIG4); the API methods of "
                "this REST API all use the Cognito user pool authorizer.",
            ),
        )
    pages_role = console.node.find_child("PagesRole")
    bucket_id = str(stack.resolve(stack.get_logical_id(console.bucket.node.default_child)))  # type: ignore[arg-type]
    Validations.of(pages_role).acknowledge(
        Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/console/*]",
            reason="API Gateway reads the console's files (s3:GetObject only) under the console/ prefix "
            "of its own bucket; S3 object permissions take a prefix, not one key per file.",
        )
    )
    # The CDK assets bucket of the bootstrap, as cdk-nag names it (pseudo parameters or this region).
    partition, region = nag_partition_and_region(stack)
    assets_bucket_arn = f"arn:{partition}:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-{region}/*"
    # BucketDeployment's provider (one Lambda per stack, written by CDK): its role and runtime are CDK's.
    provider = next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
    Validations.of(provider).acknowledge(
        Acknowledgment(
            id="AwsSolutions-L1",
            reason="CDK's BucketDeployment provider picks its own Lambda runtime, upgraded with "
            "aws-cdk-lib (pinned in pyproject.toml); it runs only at deploy time to copy the pages.",
        ),
        Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            reason="CDK's BucketDeployment provider logs with the AWS managed basic execution policy; it "
            "runs only at deploy time and holds no data access beyond the two buckets below.",
        ),
        *(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[{finding}]",
                reason="CDK's BucketDeployment provider copies the console's asset from the CDK assets "
                "bucket into the pages bucket (read, list, write, prune): CDK writes these grants for it.",
            )
            for finding in (
                "Action::s3:GetBucket*",
                "Action::s3:GetObject*",
                "Action::s3:List*",
                "Action::s3:Abort*",
                "Action::s3:DeleteObject*",
                f"Resource::{assets_bucket_arn}",
                f"Resource::<{bucket_id}.Arn>/*",
            )
        ),
    )
