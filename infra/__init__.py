"""The CDK app: one stack, `LoyaltyStack`, built from one construct per concern.

storage.py        a DynamoDB table per pynamodb model (loyalty.adapters.models.MODELS)
events.py         the custom EventBridge bus and its archive
functions.py      the Lambda functions (a table of FunctionSpec), the shared layer, least-privilege IAM
api.py            the REST API from loyalty.api.routes.api_routes(), API key and usage plan
observability.py  Powertools env, alarms, dashboard
stack.py          LoyaltyStack and build_app() (used by app.py and tests/infra)
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
