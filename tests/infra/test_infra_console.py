"""The back-office console in CDK: a Cognito user pool with the groups the functions gate by, a second
REST API whose every API method needs a user of that pool, and the pages served from S3 on the same
origin."""

from __future__ import annotations

import json

from loyalty.api.access import GROUPS
from loyalty.api.routes import api_routes

from tests.infra.test_infra_api import _methods


def test_the_user_pool_has_the_groups_the_api_gates_by_and_no_self_sign_up(synth):
    (pool,) = synth.resources("AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert props["MfaConfiguration"] == "ON"
    groups = {g["Properties"]["GroupName"] for g in synth.resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(GROUPS) == {"support", "marketing"}
    (client,) = synth.resources("AWS::Cognito::UserPoolClient").values()
    assert client["Properties"]["GenerateSecret"] is False


def test_every_route_of_the_back_office_api_needs_a_user_of_the_pool(synth):
    console = synth.stack.console
    methods = _methods(synth, console.rest_api)
    routes = {(r.method, r.path) for r in api_routes()}
    assert set(methods) == routes | {("GET", "/admin"), ("GET", "/admin/{file}")}
    authorizer = {"Ref": synth.logical_id(console.authorizer)}
    (pool,) = synth.resources("AWS::Cognito::UserPool")
    (auth,) = synth.all_resources("AWS::ApiGateway::Authorizer").values()
    assert auth["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert auth["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool, "Arn"]}]
    for key in routes:
        assert methods[key]["AuthorizationType"] == "COGNITO_USER_POOLS", key
        assert methods[key]["AuthorizerId"] == authorizer, key
        assert methods[key]["Integration"]["Type"] == "AWS_PROXY", key
        assert not methods[key].get("ApiKeyRequired"), key


def test_the_pages_come_from_the_console_prefix_of_a_private_bucket_with_their_policy(synth):
    console = synth.stack.console
    methods = _methods(synth, console.rest_api)
    page = methods[("GET", "/admin/{file}")]
    assert page["AuthorizationType"] == "NONE"  # the sign-in page loads before anyone is signed in
    integration = page["Integration"]
    assert integration["Type"] == "AWS" and ":s3:path/" in synth.render(integration["Uri"])
    assert "/console/{file}" in synth.render(integration["Uri"])
    headers = integration["IntegrationResponses"][0]["ResponseParameters"]
    assert "default-src 'self'" in headers["method.response.header.Content-Security-Policy"]
    bucket = synth.all_resources("AWS::S3::Bucket")[synth.logical_id(console.bucket)]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True


def test_the_console_signs_in_through_the_pools_managed_login_with_pkce(synth):
    (client,) = synth.resources("AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["AllowedOAuthFlows"] == ["code"] and props["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(props["AllowedOAuthScopes"]) == ["email", "openid"]
    console_api = synth.logical_id(synth.stack.console.rest_api)
    (callback,) = props["CallbackURLs"]
    assert {"Ref": console_api} in callback["Fn::Join"][1] and callback["Fn::Join"][1][-1] == "/admin/"
    assert len(synth.resources("AWS::Cognito::UserPoolDomain")) == 1
    (deployment,) = synth.all_resources("Custom::CDKBucketDeployment").values()
    assert len(deployment["Properties"]["SourceObjectKeys"]) == 2  # console/ and config.json
    markers = json.dumps(deployment["Properties"]["SourceMarkers"])  # config.json's values, at deploy
    client_id = synth.logical_id(synth.stack.auth.client)
    assert f'"Ref": "{client_id}"' in markers and "amazoncognito.com" in markers, markers
