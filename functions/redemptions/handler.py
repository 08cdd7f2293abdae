"""Redemptions Lambda: points to vouchers, a customer's vouchers, spending a voucher."""

from aws_lambda_powertools import Tracer
from loyalty.api.app import api_handler
from loyalty.settings import REDEMPTIONS

tracer = Tracer()  # patches boto3: each DynamoDB/EventBridge call is a subsegment of the request's trace
handler = tracer.capture_lambda_handler(api_handler(REDEMPTIONS), capture_response=False)
