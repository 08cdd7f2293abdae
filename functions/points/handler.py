"""Points Lambda: a customer's card and history."""

from loyalty.api.app import api_handler
from loyalty.settings import POINTS

handler = api_handler(POINTS)
