"""Redemptions Lambda: points to vouchers, a customer's vouchers, spending a voucher."""

from aws_lambda_powertools import Tracer
from loyalty.api.app import api_handler
from loyalty.settings import REDEMPTIONS
from loyalty.tracing import TRACED_MODULES

tracer = Tracer(patch_modules=TRACED_MODULES)  # each AWS call a subsegment (loyalty.tracing)
handler = tracer.capture_lambda_handler(api_handler(REDEMPTIONS), capture_response=False)
