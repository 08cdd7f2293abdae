"""Redemptions Lambda: points to vouchers, a customer's vouchers, spending a voucher."""

from loyalty.api.app import api_handler
from loyalty.settings import REDEMPTIONS

handler = api_handler(REDEMPTIONS)
