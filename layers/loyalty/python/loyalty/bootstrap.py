"""The composition root: every service built from the settings, on the real adapters, the models bound
once. The API (api/deps.py, through Powertools' Depends), the reclassify handler, the CLI and the local
stack build their services here and nowhere else; tests pass fakes to the services' constructors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loyalty.programme import Programme, load_programme
from loyalty.settings import Settings

LOCAL_RUNS = "local"  # settings.reclassify_state_machine on the local stack: run the steps in process

if TYPE_CHECKING:
    from loyalty.ports import ReclassifyRuns
    from loyalty.service.adjustments import AdjustmentService
    from loyalty.service.back_office import BackOfficeService
    from loyalty.service.erasure import ErasureService
    from loyalty.service.ingest import IngestService
    from loyalty.service.ledger import LedgerService
    from loyalty.service.members import MembersService
    from loyalty.service.points import PointsService
    from loyalty.service.reclassify import ReclassifyService
    from loyalty.service.reclassify.season import SeasonConversion
    from loyalty.service.redemptions import RedemptionService
    from loyalty.service.referrals import ReferralService


@dataclass
class Services:
    """What the API functions serve. Vouchers are the RedemptionService's (issued by a redemption,
    spent at a till, cancelled in the back office). Erasure is built on first use: it reads the
    pepper secret, which only the erasure function may read."""

    programme: Programme
    ingest: IngestService
    points: PointsService
    redemptions: RedemptionService | None = None
    erasure: ErasureService | None = None
    adjustments: AdjustmentService | None = None
    build_erasure: Callable[[], ErasureService] | None = field(default=None, repr=False)
    members: MembersService | None = None
    ledger: LedgerService | None = None
    referrals: ReferralService | None = None
    back_office: BackOfficeService | None = None

    def referral_service(self) -> ReferralService:
        assert self.referrals is not None, "no referral service wired"
        return self.referrals

    def back_office_service(self) -> BackOfficeService:
        assert self.back_office is not None, "no back-office service wired"
        return self.back_office

    def ledger_service(self) -> LedgerService:
        assert self.ledger is not None, "no ledger service wired"
        return self.ledger

    @property
    def member_service(self) -> MembersService:
        assert self.members is not None, "no members service wired"
        return self.members

    @property
    def vouchers(self) -> RedemptionService:
        assert self.redemptions is not None, "no redemption service wired"
        return self.redemptions

    def adjustment_service(self) -> AdjustmentService:
        assert self.adjustments is not None, "no adjustment service wired"
        return self.adjustments

    def erasure_service(self) -> ErasureService:
        if self.erasure is None:
            assert self.build_erasure is not None, "no erasure service wired"
            self.erasure = self.build_erasure()  # raises (retried next request) if the secret is unreadable
        return self.erasure


def bind(settings: Settings) -> None:
    """Point the pynamodb models at the settings' tables (and endpoint): once per process and target."""
    from loyalty.adapters.models import bind_models

    bind_models(settings)


def build_services(settings: Settings, programme: Programme | None = None) -> Services:
    from loyalty.adapters.adjustment_store import DynamoAdjustmentStore
    from loyalty.adapters.customer_store import DynamoCustomerStore
    from loyalty.adapters.eventbridge import EventBridgePublisher
    from loyalty.adapters.ledger_store import DynamoLedgerStore
    from loyalty.adapters.member_store import DynamoMemberStore
    from loyalty.adapters.redemption_store import DynamoRedemptionStore
    from loyalty.adapters.reward_store import DynamoRewardStore
    from loyalty.adapters.runstore import S3RunStore
    from loyalty.adapters.transaction_store import DynamoTransactionStore
    from loyalty.service.adjustments import AdjustmentService
    from loyalty.service.ingest import IngestService
    from loyalty.service.ledger import LedgerService
    from loyalty.service.members import MembersService
    from loyalty.service.period_cuts import LatestCuts
    from loyalty.service.points import PointsService
    from loyalty.service.redemptions import RedemptionService
    from loyalty.service.referrals import ReferralService

    bind(settings)
    programme = programme or load_programme(settings.programme_file)
    customers, transactions, rewards = DynamoCustomerStore(), DynamoTransactionStore(), DynamoRewardStore()
    publisher = EventBridgePublisher(settings.event_bus_name, settings.event_source)
    return Services(
        programme=programme,
        ingest=IngestService(customers, transactions, publisher, programme, rewards),
        points=PointsService(
            customers, transactions, programme, latest_cuts=LatestCuts(S3RunStore(settings.run_bucket))
        ),
        redemptions=RedemptionService(customers, DynamoRedemptionStore(), publisher, programme),
        adjustments=AdjustmentService(customers, DynamoAdjustmentStore(), publisher, programme),
        build_erasure=lambda: erasure_service(settings),
        members=MembersService(customers, DynamoMemberStore(), programme),
        ledger=LedgerService(customers, DynamoLedgerStore(), programme),
        referrals=ReferralService(customers, rewards),
        back_office=back_office_service(settings, programme),
    )


def back_office_service(settings: Settings, programme: Programme) -> BackOfficeService:
    """The runs, the programme and the what-if: the run bucket, and the reclassification's state
    machine (settings.reclassify_state_machine: its ARN in AWS, `local` on the local stack, where the
    same steps run in this process; unset: no what-if)."""
    from loyalty.adapters.runstore import S3CandidateStore, S3RunStore
    from loyalty.service.back_office import BackOfficeService

    if not settings.run_bucket:
        return BackOfficeService(None, programme)
    runs = S3RunStore(settings.run_bucket)
    machine: ReclassifyRuns | None = None
    if settings.reclassify_state_machine == LOCAL_RUNS:
        from loyalty.adapters.local_runs import LocalRuns

        machine = LocalRuns(runs, lambda name, run_input: local_dry_run(settings, name, run_input))
    elif settings.reclassify_state_machine:
        from loyalty.adapters.stepfunctions import StepFunctionsRuns

        machine = StepFunctionsRuns(settings.reclassify_state_machine)
    return BackOfficeService(runs, programme, machine, S3CandidateStore(runs))


def local_dry_run(settings: Settings, name: str, run_input: dict[str, Any]) -> dict[str, Any]:
    """The state machine's path for one dry-run input, in this process (the local stack's what-if):
    the same steps, the report in the run bucket where the deployed run leaves it."""
    from loyalty.service.reclassify import run_steps

    return run_steps(
        reclassify_service(settings),
        run_input.get("as_of"),
        name,
        run_input.get("total_segments"),
        dry_run=True,
        programme=run_input.get("programme"),
    )


def erasure_service(settings: Settings) -> ErasureService:
    from loyalty.adapters.erasure_store import DynamoErasureStore
    from loyalty.adapters.ledger_store import DynamoLedgerStore
    from loyalty.adapters.member_store import DynamoMemberStore
    from loyalty.adapters.reward_store import DynamoRewardStore
    from loyalty.adapters.secrets import erasure_pepper
    from loyalty.service.erasure import ErasureService

    bind(settings)
    return ErasureService(
        DynamoErasureStore(),
        erasure_pepper(settings),
        members=DynamoMemberStore(),
        ledger=DynamoLedgerStore(),
        rewards=DynamoRewardStore(),
    )


def reclassify_service(settings: Settings, bucket: str | None = None) -> ReclassifyService:
    """The monthly run on DynamoDB, EventBridge and S3 (settings.run_bucket unless `bucket`)."""
    from loyalty.adapters.customer_store import DynamoCustomerScan
    from loyalty.adapters.eventbridge import EventBridgePublisher
    from loyalty.adapters.runstore import S3RunStore
    from loyalty.service.reclassify import ReclassifyService
    from loyalty.service.reclassify.rate_limit import paced

    bind(settings)
    programme = load_programme(settings.programme_file)
    # Paced at the worker's share of the table's write units and of PutEvents (settings, from CDK);
    # throttling waits and retries instead of failing the step.
    store, publisher = paced(
        DynamoCustomerScan(),
        EventBridgePublisher(settings.event_bus_name, settings.event_source),
        *settings.reclassify_rates,
    )
    return ReclassifyService(
        store=store,
        publisher=publisher,
        programme=programme,
        runs=S3RunStore(bucket or settings.run_bucket),
        season=season_conversion(programme, publisher),
    )


def season_conversion(programme: Programme, publisher: Any) -> SeasonConversion | None:
    """The season's conversion for the monthly run, when the programme has vouchers.season_months."""
    if not programme.vouchers.season_months:
        return None
    from loyalty.adapters.customer_store import DynamoCustomerStore
    from loyalty.adapters.redemption_store import DynamoRedemptionStore
    from loyalty.service.reclassify.season import SeasonConversion

    return SeasonConversion(DynamoCustomerStore(), DynamoRedemptionStore(), publisher, programme)
