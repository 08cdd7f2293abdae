"""One settings object. Env var names, defaults and which functions need them live here only:
the Lambdas read them, CDK sets them from this list, the local stack and tests use it too."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

# Function names used everywhere (CDK construct ids, local gateway, infra tests).
INGEST, POINTS, REDEMPTIONS, RECLASSIFY = "ingest", "points", "redemptions", "reclassify"
ERASURE = "erasure"  # DELETE /v1/customers/{id}: its own function, so only it may rewrite every table
ALL_FUNCTIONS = (INGEST, POINTS, REDEMPTIONS, RECLASSIFY, ERASURE)

_LAYER_PROGRAMME = Path(__file__).resolve().parent / "programme.json"
_REPO_PROGRAMME = Path("programmes") / "default.json"


def _default_programme_path() -> str:
    """In Lambda the validated programme ships inside the layer (/opt/python/loyalty/programme.json);
    in a checkout, programmes/default.json of the nearest folder above that holds one. Computed when
    asked, never at import, and without assuming how deep this file sits: in Lambda it has only four
    parents (/opt/python/loyalty, /opt/python, /opt, /)."""
    if _LAYER_PROGRAMME.exists():
        return str(_LAYER_PROGRAMME)
    for folder in _LAYER_PROGRAMME.parents:
        if (folder / _REPO_PROGRAMME).is_file():
            return str(folder / _REPO_PROGRAMME)
    raise FileNotFoundError(
        f"no programme: set {Settings.__dataclass_fields__['programme_path'].metadata['env']} "
        f"to a programme file (none in the layer at {_LAYER_PROGRAMME}, no {_REPO_PROGRAMME} above it)"
    )


def _field(env: str, default: str, *used_by: str, doc: str = ""):  # type: ignore[no-untyped-def]
    from dataclasses import field

    return field(default=default, metadata={"env": env, "used_by": frozenset(used_by), "doc": doc})


@dataclass(frozen=True)
class Settings:
    customers_table: str = _field(
        "LOYALTY_CUSTOMERS_TABLE", "loyalty-customers", *ALL_FUNCTIONS, doc="Customer profiles"
    )
    transactions_table: str = _field(
        "LOYALTY_TRANSACTIONS_TABLE",
        "loyalty-transactions",
        INGEST,
        POINTS,
        REDEMPTIONS,
        ERASURE,
        doc="Purchases, returns and redemptions, keyed by the store's id",
    )
    vouchers_table: str = _field(
        "LOYALTY_VOUCHERS_TABLE",
        "loyalty-vouchers",
        POINTS,
        REDEMPTIONS,
        ERASURE,
        INGEST,
        RECLASSIFY,
        doc="Issued vouchers",
    )
    event_bus_name: str = _field(
        "LOYALTY_EVENT_BUS", "loyalty-events", INGEST, REDEMPTIONS, RECLASSIFY, doc="Custom EventBridge bus"
    )
    programme_path: str = _field(
        "LOYALTY_PROGRAMME_PATH", "", *ALL_FUNCTIONS, doc="Programme file (JSON or YAML)"
    )
    event_source: str = _field(
        "LOYALTY_EVENT_SOURCE", "loyalty", INGEST, REDEMPTIONS, RECLASSIFY, doc="EventBridge source"
    )
    max_body_bytes: str = _field(
        "LOYALTY_MAX_BODY_BYTES",
        "65536",
        INGEST,
        POINTS,
        REDEMPTIONS,
        ERASURE,
        doc="Largest accepted request body",
    )
    redemptions_table: str = _field(
        "LOYALTY_REDEMPTIONS_TABLE",
        "loyalty-redemptions",
        REDEMPTIONS,
        ERASURE,
        INGEST,
        RECLASSIFY,
        doc="One item per redemption_id: the idempotency record and its first answer (also reward "
        "vouchers' records and the earning rules' monthly cap counters, docs/rules-and-rewards.md)",
    )
    interactions_table: str = _field(
        "LOYALTY_INTERACTIONS_TABLE",
        "loyalty-interactions",
        INGEST,
        ERASURE,
        doc="One item per member interaction (app open, review...), keyed by the caller's interaction_id",
    )
    adjustments_table: str = _field(
        "LOYALTY_ADJUSTMENTS_TABLE",
        "loyalty-adjustments",
        REDEMPTIONS,
        doc="One item per adjustment_id (back office): the idempotency record and its first answer",
    )
    ledger_table: str = _field(
        "LOYALTY_LEDGER_TABLE",
        "loyalty-ledger",
        *ALL_FUNCTIONS,
        doc="The points ledger: one item per movement of a customer's points, written in the same "
        "transaction as the movement (GET /v1/customers/{id}/points-history)",
    )
    erasures_table: str = _field(
        "LOYALTY_ERASURES_TABLE",
        "loyalty-erasures",
        ERASURE,
        doc="One item per erased customer, keyed by the token only (no personal data)",
    )
    erasure_pepper: str = _field(
        "LOYALTY_ERASURE_PEPPER",
        "local-dev-pepper-not-secret",
        ERASURE,
        doc="Secret key of the HMAC that replaces an erased customer id, for the local stack and tests "
        "only: the deployed stack leaves it unset and sets erasure_pepper_secret instead",
    )
    erasure_pepper_secret: str = _field(
        "LOYALTY_ERASURE_PEPPER_SECRET",
        "",
        ERASURE,
        doc="ARN of the Secrets Manager secret holding the erasure pepper (the deployed stack's). When set, "
        "the erasure function reads the pepper from it, once per container, and fails if it cannot: "
        "it never falls back to erasure_pepper",
    )
    run_bucket: str = _field(
        "LOYALTY_RUN_BUCKET",
        "loyalty-runs",
        RECLASSIFY,
        POINTS,  # the back office's runs page reads the summaries
        doc="S3 bucket of the monthly reclassification's run documents (per-segment statistics and "
        "tallies, cut points, the period's summary); the points function reads the latest period's cut "
        "points from it (the card's RFM scores and P(alive))",
    )
    reclassify_write_units: str = _field(
        "LOYALTY_RECLASSIFY_WRITE_UNITS",
        "",
        RECLASSIFY,
        doc="Write units a second one reclassify worker may use on the customers table (its token bucket, "
        "shared by its threads): the run's share of the table's limit over the Map's concurrency, set by "
        "CDK from context (docs/deploy.md). Unset: no bucket (throttling still backs off)",
    )
    reclassify_events: str = _field(
        "LOYALTY_RECLASSIFY_EVENTS",
        "",
        RECLASSIFY,
        doc="PutEvents requests a second one reclassify worker may send (its token bucket; a request "
        "carries up to 10 events): the run's share of the account's PutEvents quota over the Map's "
        "concurrency, set by CDK. Unset: no bucket",
    )

    reclassify_state_machine: str = _field(
        "LOYALTY_RECLASSIFY_STATE_MACHINE",
        "",
        POINTS,  # the back office's what-if (POST /v1/back-office/programme/what-if) starts it
        doc="ARN of the monthly reclassification's state machine (set by CDK; infra/stack.py names it, so "
        "the ARN is known before the machine exists), or `local` for the local stack, which runs the same "
        "steps in the points process (adapters/local_runs.py). Unset: the what-if route answers 503",
    )

    admin_api_key_id: str = _field(
        "LOYALTY_ADMIN_API_KEY_ID",
        "",
        INGEST,
        POINTS,
        REDEMPTIONS,
        ERASURE,
        doc="Id of the back-office API key (API Gateway's requestContext.identity.apiKeyId): only a request "
        "let in with it may call a back-office route (loyalty.api.access). Unset: none may",
    )

    @property
    def programme_file(self) -> str:
        return self.programme_path or _default_programme_path()

    @property
    def max_body(self) -> int:
        return int(self.max_body_bytes)

    @property
    def reclassify_rates(self) -> tuple[float | None, float | None]:
        """(write units/s, PutEvents requests/s) of one reclassify worker; None: not limited."""
        return (
            float(self.reclassify_write_units) if self.reclassify_write_units else None,
            float(self.reclassify_events) if self.reclassify_events else None,
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {f.name: env.get(f.metadata["env"], f.default) for f in fields(cls)}
        return cls(**values)

    def env_for(self, function: str) -> dict[str, str]:
        """The environment a function needs, as CDK sets it."""
        return {
            f.metadata["env"]: getattr(self, f.name)
            for f in fields(self)
            if function in f.metadata["used_by"] and getattr(self, f.name) != ""
        }

    def as_env(self) -> dict[str, str]:
        return {f.metadata["env"]: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def env_name(setting: str) -> str:
    """The environment variable of a Settings field: env_name("run_bucket") == "LOYALTY_RUN_BUCKET"."""
    return str(Settings.__dataclass_fields__[setting].metadata["env"])


def env_names_for(function: str) -> set[str]:
    return {f.metadata["env"] for f in fields(Settings) if function in f.metadata["used_by"]}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
