"""Redemptions Lambda: points to vouchers, a customer's vouchers, spending a voucher."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from loyalty.api.app import build_resolver, handle
from loyalty.api.routes import routers_of
from loyalty.settings import REDEMPTIONS

logger = Logger()
metrics = Metrics(namespace="Loyalty")
app = build_resolver(*routers_of(REDEMPTIONS))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event, context):
    return handle(app, event, context, metrics)
