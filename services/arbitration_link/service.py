"""The arbitration_link nameko service: thin entrypoints around `handlers` (port 8003).

- Inbox handlers fold intake's and mediation's case events into case files and open and
  send referrals; two relays publish the event store: every event to
  `arbitration_link.events`, each `ReferralSent` to `arbitration.outbound` (CONTRACTS §4).
- A timer sweeps for referrals to send late or resend.
- `@reply_consumer` reads the institute's replies from `arbitration.replies.link`.
- The referral status API: `GET /api/v1/referrals?case_id=` and `/api/v1/referrals/{id}`.
"""

from services.common.centers import centers_by_id
from services.common.http import api
from services.common.messaging import inbox_handler
from services.common.service import BaseService, EventRelay, ServiceStore, every
from services.events import (
    AgreementDefaulted,
    AgreementPerformed,
    AgreementReached,
    ApplicationReceived,
    ApplicationWithdrawn,
    CaseAccepted,
    CaseNotAccepted,
    MediationExpired,
    MediationExtended,
    MediationFailed,
    MediationOpened,
    MediationWithdrawn,
    MediatorAssigned,
    ReviewOutcomeRecorded,
    ReviewRequested,
    SessionHeld,
    SurveyRecorded,
    WithdrawalRefused,
)

from . import handlers
from .bootstrap import bootstrap
from .outbound import EXCHANGES, RELAY_NAME, outbound_route
from .replies import reply_consumer


def follows(event_type):
    """An inbox handler that folds `event_type` (a class of services/events.py) into the case files."""

    @inbox_handler(event_type)
    def handler(self, envelope):
        self.store.consume(
            "case_files", envelope, lambda uow, event, previous_version: handlers.follow_case(uow, event)
        )

    handler.__name__ = f"on_{event_type.name}"
    return handler


class ArbitrationLinkService(BaseService):
    name = "arbitration_link"
    store = ServiceStore(bootstrap)
    relay = EventRelay()
    outbound_relay = EventRelay(name=RELAY_NAME, route=outbound_route, exchanges=EXCHANGES)

    # intake's case events
    on_application_received = follows(ApplicationReceived)
    on_case_accepted = follows(CaseAccepted)
    on_case_not_accepted = follows(CaseNotAccepted)
    on_application_withdrawn = follows(ApplicationWithdrawn)
    # mediation's case events: all of the case stream, so a referral can tell whether it
    # has seen every event before the one that decided it
    on_mediation_opened = follows(MediationOpened)
    on_mediator_assigned = follows(MediatorAssigned)
    on_session_held = follows(SessionHeld)
    on_mediation_extended = follows(MediationExtended)
    on_agreement_reached = follows(AgreementReached)
    on_mediation_failed = follows(MediationFailed)
    on_mediation_expired = follows(MediationExpired)
    on_mediation_withdrawn = follows(MediationWithdrawn)
    on_review_requested = follows(ReviewRequested)
    on_review_outcome_recorded = follows(ReviewOutcomeRecorded)
    on_agreement_performed = follows(AgreementPerformed)
    on_agreement_defaulted = follows(AgreementDefaulted)
    on_survey_recorded = follows(SurveyRecorded)
    on_withdrawal_refused = follows(WithdrawalRefused)

    @every("sweep_seconds")
    def sweep_referrals(self):
        handlers.sweep(self.store.unit_of_work)

    @reply_consumer(rejected=handlers.REFUSED_REPLIES)
    def on_reply(self, kind, body):
        handlers.receive_reply(self.store.unit_of_work, kind, body, centers_by_id())

    # -- referral status API ---------------------------------------------------------
    @api("GET", "/api/v1/referrals")
    def list_referrals(self, request):
        case_id = request.args.get("case_id") or None
        return self.store.commands.read(
            request, lambda actor, uow: {"referrals": handlers.referrals(uow, actor, case_id)}
        )

    @api("GET", "/api/v1/referrals/<string:referral_id>")
    def get_referral(self, request, referral_id):
        return self.store.commands.read(request, lambda actor, uow: handlers.referral(uow, actor, referral_id))
