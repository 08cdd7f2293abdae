"""Erasure Lambda: DELETE /v1/customers/{customer_id} (GDPR)."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from loyalty.api.app import build_resolver, handle
from loyalty.api.routes import routers_of
from loyalty.settings import ERASURE

logger = Logger()
metrics = Metrics(namespace="Loyalty")
app = build_resolver(*routers_of(ERASURE))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event, context):
    return handle(app, event, context, metrics)
