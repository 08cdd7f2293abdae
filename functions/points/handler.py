"""Points Lambda: a customer's card and history."""

from aws_lambda_powertools import Tracer
from loyalty.api.app import api_handler
from loyalty.settings import POINTS
from loyalty.tracing import TRACED_MODULES

tracer = Tracer(patch_modules=TRACED_MODULES)  # each AWS call a subsegment (loyalty.tracing)
handler = tracer.capture_lambda_handler(api_handler(POINTS), capture_response=False)
