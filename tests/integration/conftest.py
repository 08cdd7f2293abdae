"""moto in process, with the tables created from the pynamodb models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from unittest import mock

import botocore.client
import pytest
from loyalty.adapters.models import MODELS, bind_models
from loyalty.settings import Settings
from moto import mock_aws

_real_call = botocore.client.BaseClient._make_api_call


@pytest.fixture
def aws_tables() -> Iterator[Settings]:
    """Fresh moto tables (and bus) for one test; yields the settings naming them."""
    settings = Settings()
    with mock_aws():
        bind_models(settings)
        for model in MODELS.values():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        import boto3

        boto3.client("events").create_event_bus(Name=settings.event_bus_name)
        yield settings


@pytest.fixture
def api_calls() -> Iterator[Counter]:
    """Counts every AWS API operation made through botocore (pynamodb and boto3 alike)."""
    calls: Counter = Counter()

    def counting(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        calls[operation_name] += 1
        return _real_call(self, operation_name, api_params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", counting):
        yield calls
