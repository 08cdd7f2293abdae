"""The back office's people: a Cognito user pool with the groups `support` (customer actions) and
`marketing` (runs, programme), the ones loyalty.api.access gates by. Users are created by an
administrator (no self sign-up); the console signs in through the pool's app client."""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct
from loyalty.api.access import GROUPS

DESCRIPTIONS = {
    "support": "Customer service: reads cards, adjusts points, blocks, cancels vouchers, erases",
    "marketing": "Marketing: reads cards and the monthly runs, checks candidate programmes",
}


class BackOfficeAuth(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,  # the retailer's administrator invites each employee
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=RemovalPolicy.RETAIN,  # the employees' accounts outlive a stack replacement
        )
        self.groups = {
            name: cognito.CfnUserPoolGroup(
                self,
                f"{name.capitalize()}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=name,
                description=DESCRIPTIONS[name],
            )
            for name in GROUPS
        }
        # The managed login's domain: loyalty-back-office-<account id>.auth.<region>.amazoncognito.com
        # (a prefix is unique per region; one loyalty stack per account and region).
        prefix = Fn.join("-", ["loyalty-back-office", Aws.ACCOUNT_ID])
        self.domain = self.user_pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix)
        )
        self.client: cognito.UserPoolClient | None = None

    def add_console_client(self, console_url: str) -> cognito.UserPoolClient:
        """The console's app client: the authorization code flow with PKCE, back to the console's URL."""
        self.client = self.user_pool.add_client(
            "ConsoleClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,  # a browser app cannot keep a secret: PKCE instead
            prevent_user_existence_errors=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[console_url],
                logout_urls=[console_url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(8),
        )
        return self.client

    @property
    def domain_url(self) -> str:
        return self.domain.base_url()
