"""The DynamoDB adapters, one module per store (customer_store, transaction_store, redemption_store,
erasure_store), with items.py (mapping), cursors.py and dynamo_errors.py. Re-exported here for the
modules that still import from this name (service/reclassify.py, changed in parallel): new code imports
from the store's own module."""

from loyalty.adapters.cursors import decode_cursor, encode_cursor
from loyalty.adapters.customer_store import DynamoCustomerScan, DynamoCustomerStore
from loyalty.adapters.dynamo_errors import Labelled
from loyalty.adapters.erasure_store import DynamoErasureStore
from loyalty.adapters.items import (
    months_from_item,
    months_to_item,
    profile_from_item,
    profile_from_raw,
    profile_to_item,
    transaction_from_item,
    transaction_to_item,
)
from loyalty.adapters.redemption_store import DynamoRedemptionStore
from loyalty.adapters.transaction_store import DynamoTransactionStore

__all__ = [
    "DynamoCustomerScan", "DynamoCustomerStore", "DynamoErasureStore", "DynamoRedemptionStore",
    "DynamoTransactionStore", "Labelled", "decode_cursor", "encode_cursor", "months_from_item",
    "months_to_item", "profile_from_item", "profile_from_raw", "profile_to_item", "transaction_from_item",
    "transaction_to_item",
]  # fmt: skip
