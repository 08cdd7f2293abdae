"""Ingest Lambda: POST /v1/transactions (purchases and returns)."""

from loyalty.api.app import api_handler
from loyalty.settings import INGEST

handler = api_handler(INGEST)
