"""Points Lambda: a customer's card and history."""

from aws_lambda_powertools import Tracer
from loyalty.api.app import api_handler
from loyalty.settings import POINTS

tracer = Tracer()  # patches boto3: each DynamoDB/EventBridge call is a subsegment of the request's trace
handler = tracer.capture_lambda_handler(api_handler(POINTS), capture_response=False)
