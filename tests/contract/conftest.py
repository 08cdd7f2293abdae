"""The contract suite reuses the moto tables of the integration tests."""

from tests.integration.conftest import aws_tables  # noqa: F401
