"""The intake service (nameko): thin HTTP, RPC and event entrypoints over the service layer.

HTTP is the staff API of CONTRACTS §2 (intake); RPC serves the CLI and the other
services; the inbox handler opens cases for arbitration's recommendation letters; a timer
erases the personal data of cases whose retention period ended.
Every staff command runs through the kernel's pipeline (`self.store.commands`).
"""

import logging

from nameko.rpc import rpc

from services.common import privacy
from services.common.errors import NotFound
from services.common.http import api, validate
from services.common.messaging import inbox_handler
from services.common.service import BaseService, EventRelay, ServiceStore, every
from services.events import (
    AgreementReached,
    DocumentDownloaded,
    DocumentIssued,
    MediationExpired,
    MediationFailed,
    MediationViewed,
    MediationWithdrawn,
    RecommendationReceived,
    ReferralViewed,
    WithdrawalRefused,
)

from . import handlers, retention
from .bootstrap import bootstrap
from .commands import DecideAcceptance, RecordConsultation, RegisterApplication, WithdrawApplication
from .schemas import (
    AcceptanceSchema,
    AccountLooksQuerySchema,
    ApplicationSchema,
    CaseListQuerySchema,
    ConsultationSchema,
    RecommendationSchema,
    WithdrawalSchema,
)

log = logging.getLogger(__name__)


def _notes_mediation_end(event_type):
    """An inbox handler of one of mediation's events that end a mediation (or refuse a withdrawal)."""

    @inbox_handler(event_type)
    def handler(self, envelope):
        self.store.consume(
            handlers.MEDIATION_OUTCOMES,
            envelope,
            lambda uow, event, previous_version: handlers.record_mediation_end(uow, event),
        )

    handler.__name__ = f"on_{event_type.name}"
    return handler


def _keeps_reported_look(event_type):
    """An inbox handler of a look another service reports (`services.events.LOOK_EVENTS`)."""

    @inbox_handler(event_type)
    def handler(self, envelope):
        self.store.consume(
            "reported_looks",
            envelope,
            lambda uow, event, previous_version: handlers.record_reported_look(uow.records, event),
        )

    handler.__name__ = f"on_{event_type.name}"
    return handler


class IntakeService(BaseService):
    name = "intake"
    store = ServiceStore(bootstrap)
    relay = EventRelay()

    # --- staff HTTP API ---------------------------------------------------------------

    @api("POST", "/api/v1/consultations")
    def record_consultation(self, request):
        schema = ConsultationSchema(center_ids=self.store.settings.centers)
        return self.store.commands.run(request, handlers.record_consultation, RecordConsultation, schema, 201)

    @api("POST", "/api/v1/cases")
    def register_application(self, request):
        settings = self.store.settings
        schema = ApplicationSchema(now=self.store.clock.now(), zone=settings.zone, center_ids=settings.centers)
        return self.store.commands.run(request, handlers.register_application, RegisterApplication, schema, 201)

    @api("POST", "/api/v1/cases/<case_id>/acceptance")
    def decide_acceptance(self, request, case_id):
        return self.store.commands.run(
            request, handlers.decide_acceptance, DecideAcceptance, AcceptanceSchema(), case_id=case_id
        )

    @api("POST", "/api/v1/cases/<case_id>/withdrawal")
    def withdraw_application(self, request, case_id):
        return self.store.commands.run(
            request, handlers.withdraw_application, WithdrawApplication, WithdrawalSchema(), case_id=case_id
        )

    @api("GET", "/api/v1/cases/<case_id>")
    def show_case(self, request, case_id):
        return self.store.commands.read(request, lambda actor, uow: handlers.case_view(uow, actor, case_id))

    @api("GET", "/api/v1/cases/<case_id>/history")
    def show_case_history(self, request, case_id):
        return self.store.commands.read(request, lambda actor, uow: handlers.case_history(uow, actor, case_id))

    @api("GET", "/api/v1/cases/<case_id>/looks")
    def show_case_looks(self, request, case_id):
        return self.store.commands.read(request, lambda actor, uow: handlers.case_looks(uow, actor, case_id))

    @api("GET", "/api/v1/looks")
    def show_account_looks(self, request):
        def answer(actor, uow):
            query = validate(AccountLooksQuerySchema(), request.args.to_dict())
            return handlers.account_looks(uow, actor, query["account"], query["limit"])

        return self.store.commands.read(request, answer)

    @api("GET", "/api/v1/cases")
    def show_cases(self, request):
        def answer(actor, uow):
            query = validate(CaseListQuerySchema(center_ids=uow.settings.centers), request.args.to_dict())
            found = handlers.list_cases(uow.records, actor, zone=uow.settings.zone, **query)
            # Each hit shows its parties' names: a look at that case.
            handlers.record_looks(uow, actor, [c["case_id"] for c in found["cases"]], "GET /api/v1/cases")
            return found

        return self.store.commands.read(request, answer)

    # --- RPC, for the CLI and the other services (trusted callers) ---------------------

    @rpc
    def get_case(self, case_id):
        """The case as intake knows it, or None."""
        try:
            with self.store.unit_of_work() as uow:
                return handlers.case_view(uow, None, case_id)
        except NotFound:
            return None

    @rpc
    def list_cases(self, center_id=None, status=None, page=1, page_size=50):
        """A page of the case list, any center."""
        with self.store.unit_of_work() as uow:
            return handlers.list_cases(
                uow.records, None, center_id=center_id, status=status, page=page, page_size=page_size
            )

    # --- the retention timer (docs/PRIVACY.md) -----------------------------------------

    @every("retention_sweep_seconds")
    def sweep_retention(self):
        """Erases the personal data of every case closed longer ago than the retention period;
        while another instance sweeps, this one leaves it to that one."""
        done = retention.sweep(self.store.provider.wiring, wait=False)
        if done is not None and (done["erased"] or done["keys_destroyed_again"] or done["failed"]):
            log.info(
                "retention sweep: %d cases erased, %d keys destroyed again, %d failed",
                len(done["erased"]),
                done["keys_destroyed_again"],
                done["failed"],
            )

    # --- events from other services ---------------------------------------------------

    @inbox_handler(RecommendationReceived)
    def on_recommendation_received(self, envelope):
        settings = self.store.settings

        def effect(uow, event, previous_version):
            schema = RecommendationSchema(now=event.recorded_at, zone=settings.zone, center_ids=settings.centers)
            uow.events.adopt(privacy.bindings(event.data))  # the case keeps the letter's keys
            letter = schema.load(uow.vault.open(event.data))  # a sealed letter is read in clear
            handlers.open_recommended_case(RegisterApplication(application=letter), uow)

        self.store.consume("on_recommendation_received", envelope, effect)

    # How the mediation ended: intake's status follows it (docs/EVENTS.md, "One truth for withdrawal").
    on_agreement_reached = _notes_mediation_end(AgreementReached)
    on_mediation_failed = _notes_mediation_end(MediationFailed)
    on_mediation_expired = _notes_mediation_end(MediationExpired)
    on_mediation_withdrawn = _notes_mediation_end(MediationWithdrawn)
    on_withdrawal_refused = _notes_mediation_end(WithdrawalRefused)

    # Looks the documents service, mediation and the link report: the case's looks keep them.
    on_document_downloaded = _keeps_reported_look(DocumentDownloaded)
    on_mediation_viewed = _keeps_reported_look(MediationViewed)
    on_referral_viewed = _keeps_reported_look(ReferralViewed)

    @inbox_handler(DocumentIssued)
    def on_document_issued(self, envelope):
        self.store.consume(
            "on_document_issued",
            envelope,
            lambda uow, event, previous_version: handlers.record_document_issued(uow.records, event.to_envelope()),
        )
