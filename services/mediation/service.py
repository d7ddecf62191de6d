"""The mediation service's nameko entrypoints: the staff API on port 8002, intake's and
arbitration_link's events, and the sweep that lets deadlines pass by themselves.

Entrypoints are thin: they authenticate, read the body and hand a unit of work (with
the read models attached as `uow.views`) to the service layer in `handlers`.
"""

import contextlib
import os

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from services.common.eventstore import ConcurrencyError
from services.common.http import api, json_response, parse_json
from services.common.messaging import inbox_handler
from services.common.service import BaseService, EventRelay

from . import handlers
from .readmodels import PostgresReadModels

# Commands on one case queue up on its row lock; a retry covers the rare race left
# (two first events of a new stream).
COMMAND_ATTEMPTS = 3
INTAKE_CASES = "intake_cases"  # one inbox consumer for both intake events, so `previous_version` spans them
DEFAULT_SWEEP_INTERVAL_SECONDS = 1.0


class MediationSettings(DependencyProvider):
    """The district's time zone and the performance grace period, from the configuration."""

    def setup(self):
        self.settings = handlers.Settings.from_env(self.container.config["TIMEZONE"], os.environ)

    def get_dependency(self, worker_ctx):
        return self.settings


class SweepTimer(Timer):
    """A timer whose interval comes from `TIAOJIE_SWEEP_INTERVAL_SECONDS`."""

    def setup(self):
        self.interval = float(os.environ.get("TIAOJIE_SWEEP_INTERVAL_SECONDS", self.interval))


sweep_timer = SweepTimer.decorator


class MediationService(BaseService):
    name = "mediation"
    relay = EventRelay()
    settings = MediationSettings()

    # -- plumbing -----------------------------------------------------------------------
    @contextlib.contextmanager
    def unit_of_work(self, **kwargs):
        with self.store.unit_of_work(**kwargs) as uow:
            yield _with_views(uow)

    def _command(self, request, decide, status=200, optional_body=False):
        principal = self.store.authenticate(request)
        body = parse_json(request) if request.get_data() or not optional_body else {}
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                return self.store.command(
                    request, principal, lambda uow: decide(_with_views(uow), principal, body), status=status
                )
            except ConcurrencyError:
                if attempt == COMMAND_ATTEMPTS:
                    raise

    def _case_command(self, request, case_id, use_case, optional_body=False):
        return self._command(
            request,
            lambda uow, principal, body: use_case(uow, principal, case_id, body, self.settings),
            optional_body=optional_body,
        )

    def _read(self, request, answer):
        principal = self.store.authenticate(request)
        with self.unit_of_work() as uow:
            return json_response(200, answer(uow, principal))

    # -- the roster ---------------------------------------------------------------------
    @api("POST", "/api/v1/mediators")
    def register_mediator(self, request):
        return self._command(
            request,
            lambda uow, principal, body: handlers.register_mediator(uow, principal, body, self.settings),
            status=201,
        )

    @api("GET", "/api/v1/mediators")
    def roster(self, request):
        return self._read(
            request,
            lambda uow, principal: handlers.roster(
                uow.views, principal, request.args.to_dict(), self.settings, uow.clock.now()
            ),
        )

    @api("GET", "/api/v1/mediators/<string:mediator_id>")
    def get_mediator(self, request, mediator_id):
        return self._read(
            request, lambda uow, principal: handlers.get_mediator(uow, principal, mediator_id, self.settings)
        )

    @api("POST", "/api/v1/mediators/<string:mediator_id>/certificate")
    def renew_certificate(self, request, mediator_id):
        return self._command(
            request,
            lambda uow, principal, body: handlers.renew_certificate(uow, principal, mediator_id, body, self.settings),
        )

    # -- the mediation of a case ----------------------------------------------------------
    @api("GET", "/api/v1/cases")
    def list_cases(self, request):
        return self._read(
            request,
            lambda uow, principal: handlers.list_mediations(
                uow.views, principal, request.args.to_dict(), self.settings
            ),
        )

    @api("GET", "/api/v1/cases/<string:case_id>")
    def get_case(self, request, case_id):
        return self._read(
            request, lambda uow, principal: handlers.get_mediation(uow, principal, case_id, self.settings)
        )

    @api("GET", "/api/v1/cases/<string:case_id>/history")
    def get_history(self, request, case_id):
        return self._read(request, lambda uow, principal: handlers.mediation_history(uow, principal, case_id))

    @api("POST", "/api/v1/cases/<string:case_id>/assignment")
    def assign_mediator(self, request, case_id):
        return self._case_command(request, case_id, handlers.assign_mediator)

    @api("POST", "/api/v1/cases/<string:case_id>/sessions")
    def hold_session(self, request, case_id):
        return self._case_command(request, case_id, handlers.hold_session)

    @api("POST", "/api/v1/cases/<string:case_id>/extension")
    def extend(self, request, case_id):
        return self._case_command(request, case_id, handlers.extend)

    @api("POST", "/api/v1/cases/<string:case_id>/agreement")
    def reach_agreement(self, request, case_id):
        return self._case_command(request, case_id, handlers.reach_agreement)

    @api("POST", "/api/v1/cases/<string:case_id>/failure")
    def fail(self, request, case_id):
        return self._case_command(request, case_id, handlers.fail)

    @api("POST", "/api/v1/cases/<string:case_id>/withdrawal")
    def withdraw(self, request, case_id):
        return self._case_command(request, case_id, handlers.withdraw)

    @api("POST", "/api/v1/cases/<string:case_id>/review-request")
    def request_review(self, request, case_id):
        return self._case_command(request, case_id, handlers.request_review, optional_body=True)

    @api("POST", "/api/v1/cases/<string:case_id>/performance")
    def report_performance(self, request, case_id):
        return self._case_command(request, case_id, handlers.report_performance)

    @api("POST", "/api/v1/cases/<string:case_id>/survey")
    def record_survey(self, request, case_id):
        return self._case_command(request, case_id, handlers.record_survey)

    @api("POST", "/api/v1/complaints")
    def file_complaint(self, request):
        return self._command(
            request,
            lambda uow, principal, body: handlers.file_complaint(uow, principal, body, self.settings),
            status=201,
        )

    # -- events from other services -------------------------------------------------------
    @inbox_handler("intake", "CaseAccepted")
    def on_case_accepted(self, envelope):
        self.store.consume(INTAKE_CASES, envelope, self._effect(handlers.open_mediation))

    @inbox_handler("intake", "ApplicationWithdrawn")
    def on_application_withdrawn(self, envelope):
        self.store.consume(INTAKE_CASES, envelope, self._effect(handlers.withdraw_on_intake))

    @inbox_handler("arbitration_link", "ReviewDecided")
    def on_review_decided(self, envelope):
        self.store.consume("review_decisions", envelope, self._effect(handlers.record_review_decision))

    def _effect(self, use_case):
        return lambda uow, event, previous_version: use_case(_with_views(uow), event, previous_version, self.settings)

    # -- deadlines by themselves ----------------------------------------------------------
    @sweep_timer(interval=DEFAULT_SWEEP_INTERVAL_SECONDS)
    def sweep(self):
        handlers.sweep(self.unit_of_work, self.settings)


def _with_views(uow):
    uow.views = PostgresReadModels(uow.cursor)
    return uow
