"""Ingest Lambda: POST /v1/transactions (purchases and returns)."""

from aws_lambda_powertools import Tracer
from loyalty.api.app import api_handler
from loyalty.settings import INGEST

tracer = Tracer()  # patches boto3: each DynamoDB/EventBridge call is a subsegment of the request's trace
handler = tracer.capture_lambda_handler(api_handler(INGEST), capture_response=False)
