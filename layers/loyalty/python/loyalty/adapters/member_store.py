"""Members on DynamoDB: the profile written at its version (enrolment, consents, preferences, status),
an interaction with its profile in one TransactWriteItems, and erasure's delete of the interactions."""

from __future__ import annotations

from pynamodb.exceptions import GetError, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from loyalty.adapters.dynamo_errors import THROTTLE_CODES, Labelled, raise_if_throttled, throttled
from loyalty.adapters.erasure_store import SWEEP_BATCH
from loyalty.adapters.items import profile_to_item
from loyalty.adapters.models import CustomerItem, InteractionItem
from loyalty.domain.profile import Profile
from loyalty.ports import DuplicateInteraction, StoredInteraction, Throttled, VersionConflict

_FIELDS = ("interaction_id", "customer_id", "kind", "occurred_at", "occurred_key", "channel", "body_hash")


def _version_condition(expected_version: int | None):  # type: ignore[no-untyped-def]
    if expected_version is None:
        return CustomerItem.customer_id.does_not_exist()
    return CustomerItem.version == expected_version


class DynamoMemberStore:
    def save_profile(self, profile: Profile, expected_version: int | None) -> None:
        item = profile_to_item(profile, (expected_version or 0) + 1)
        try:
            item.save(condition=_version_condition(expected_version))
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise VersionConflict(profile.customer_id) from exc
            if exc.cause_response_code in THROTTLE_CODES:
                raise Throttled(str(exc)) from exc
            raise

    def get_interaction(self, interaction_id: str) -> StoredInteraction | None:
        try:
            item = InteractionItem.get(interaction_id, consistent_read=True)
        except InteractionItem.DoesNotExist:
            return None
        except GetError as exc:
            raise_if_throttled(exc)
            raise
        return StoredInteraction(**{name: getattr(item, name) for name in _FIELDS})

    def record_interaction(
        self, interaction: StoredInteraction, profile: Profile, expected_version: int
    ) -> None:
        tx = Labelled(TransactWrite(connection=CustomerItem._get_connection().connection))
        try:
            with tx.tw:
                tx.save(
                    "interaction",
                    InteractionItem(**{name: getattr(interaction, name) for name in _FIELDS}),
                    condition=InteractionItem.interaction_id.does_not_exist(),
                )
                tx.save(
                    "profile",
                    profile_to_item(profile, expected_version + 1),
                    condition=_version_condition(expected_version),
                )
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            if reasons.get("interaction") == "ConditionalCheckFailed":
                raise DuplicateInteraction(interaction.interaction_id) from exc
            if {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons.values()):
                raise VersionConflict(profile.customer_id) from exc
            if throttled(exc, list(reasons.values())):
                raise Throttled(str(exc)) from exc
            raise

    def delete_interactions(self, customer_id: str) -> int:
        """Deletes 100 to a TransactWriteItems (as erasure's sweep batches its updates): a deleted item
        deleted again is no error, so a retried erasure repeats this harmlessly."""
        ids = [item.interaction_id for item in InteractionItem.by_customer.query(customer_id)]
        connection = CustomerItem._get_connection().connection
        for start in range(0, len(ids), SWEEP_BATCH):
            with TransactWrite(connection=connection) as tw:
                for interaction_id in ids[start : start + SWEEP_BATCH]:
                    tw.delete(InteractionItem(interaction_id=interaction_id))
        return len(ids)
