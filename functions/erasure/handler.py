"""Erasure Lambda: DELETE /v1/customers/{customer_id} (GDPR)."""

from aws_lambda_powertools import Tracer
from loyalty.api.app import api_handler
from loyalty.settings import ERASURE

tracer = Tracer()  # patches boto3: each DynamoDB/EventBridge call is a subsegment of the request's trace
handler = tracer.capture_lambda_handler(api_handler(ERASURE), capture_response=False)
