"""Erasure Lambda: DELETE /v1/customers/{customer_id} (GDPR)."""

from loyalty.api.app import api_handler
from loyalty.settings import ERASURE

handler = api_handler(ERASURE)
