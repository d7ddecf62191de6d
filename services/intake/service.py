"""The intake service (nameko): thin HTTP, RPC and event entrypoints over the service layer.

HTTP is the staff API of CONTRACTS §2 (intake); RPC serves the CLI and the other
services; the inbox handler opens cases for arbitration's recommendation letters.
"""

import contextlib
import os
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from services.common.centers import centers_by_id
from services.common.config import timezone_name
from services.common.eventstore import ConcurrencyError
from services.common.http import Conflict, NotFound, api, json_response, parse_json, validate
from services.common.messaging import inbox_handler
from services.common.service import BaseService, EventRelay

from . import handlers
from .domain import DEFAULT_MEDIATION_DAYS, CaseStateError
from .records import PostgresIntakeRecords
from .schemas import (
    AcceptanceSchema,
    ApplicationSchema,
    CaseListQuerySchema,
    ConsultationSchema,
    RecommendationSchema,
    WithdrawalSchema,
)

# A command that lost an optimistic-concurrency race is decided again on the new state.
COMMAND_ATTEMPTS = 5


def intake_settings(config, env=None):
    """Zone, mediation period and centers from the container config and the environment."""
    env = os.environ if env is None else env
    days = config.get("MEDIATION_DAYS") or env.get("TIAOJIE_MEDIATION_DAYS") or DEFAULT_MEDIATION_DAYS
    return handlers.IntakeSettings(
        zone=ZoneInfo(config.get("TIMEZONE") or timezone_name(env)),
        mediation_days=int(days),
        centers=centers_by_id(),
    )


class Settings(DependencyProvider):
    """The intake settings, wired once per container."""

    def setup(self):
        self.settings = intake_settings(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings


@contextlib.contextmanager
def api_errors():
    """The one place domain refusals become HTTP errors."""
    try:
        yield
    except handlers.UnknownCase:
        raise NotFound("no such case") from None
    except CaseStateError as exc:
        raise Conflict(str(exc), status=exc.status) from None


class IntakeService(BaseService):
    name = "intake"
    relay = EventRelay()
    settings = Settings()

    # --- staff HTTP API ---------------------------------------------------------------

    @api("POST", "/api/v1/consultations")
    def record_consultation(self, request):
        principal = self.store.authenticate(request)
        consultation = validate(ConsultationSchema(center_ids=self.settings.centers), parse_json(request))
        principal.require_write(consultation["center_id"])
        return self._command(
            request, principal, lambda uow: handlers.record_consultation(uow, self.settings, **consultation), 201
        )

    @api("POST", "/api/v1/cases")
    def register_application(self, request):
        principal = self.store.authenticate(request)
        application = validate(self._application_schema(), parse_json(request))
        principal.require_write(application.center_id)
        return self._command(
            request,
            principal,
            lambda uow: handlers.register_application(
                uow, PostgresIntakeRecords(uow.cursor), self.settings, application
            ),
            201,
        )

    @api("POST", "/api/v1/cases/<case_id>/acceptance")
    def decide_acceptance(self, request, case_id):
        return self._case_command(request, case_id, AcceptanceSchema(), handlers.decide_acceptance)

    @api("POST", "/api/v1/cases/<case_id>/withdrawal")
    def withdraw_application(self, request, case_id):
        return self._case_command(request, case_id, WithdrawalSchema(), handlers.withdraw_application)

    @api("GET", "/api/v1/cases/<case_id>")
    def show_case(self, request, case_id):
        principal = self.store.authenticate(request)
        with api_errors(), self.store.unit_of_work() as uow:
            return json_response(200, handlers.case_view(uow, principal, case_id))

    @api("GET", "/api/v1/cases/<case_id>/history")
    def show_case_history(self, request, case_id):
        principal = self.store.authenticate(request)
        with api_errors(), self.store.unit_of_work() as uow:
            return json_response(200, handlers.case_history(uow, principal, case_id))

    @api("GET", "/api/v1/cases")
    def show_cases(self, request):
        principal = self.store.authenticate(request)
        query = validate(CaseListQuerySchema(center_ids=self.settings.centers), request.args.to_dict())
        return json_response(
            200,
            self.store.query(
                lambda cursor: handlers.list_cases(
                    PostgresIntakeRecords(cursor), principal, zone=self.settings.zone, **query
                )
            ),
        )

    # --- RPC, for the CLI and the other services (trusted callers) ---------------------

    @rpc
    def get_case(self, case_id):
        """The case as intake knows it, or None."""
        try:
            with self.store.unit_of_work() as uow:
                return handlers.case_view(uow, None, case_id)
        except handlers.UnknownCase:
            return None

    @rpc
    def list_cases(self, center_id=None, status=None, page=1, page_size=50):
        """A page of the case list, any center."""
        return self.store.query(
            lambda cursor: handlers.list_cases(
                PostgresIntakeRecords(cursor), None, center_id=center_id, status=status, page=page, page_size=page_size
            )
        )

    # --- events from other services ---------------------------------------------------

    @inbox_handler("arbitration_link", "RecommendationReceived")
    def on_recommendation_received(self, envelope):
        def effect(uow, event, previous_version):
            letter = RecommendationSchema(
                now=event.recorded_at, zone=self.settings.zone, center_ids=self.settings.centers
            ).load(event.data)
            handlers.open_recommended_case(uow, PostgresIntakeRecords(uow.cursor), self.settings, letter)

        self.store.consume("on_recommendation_received", envelope, effect)

    # --- plumbing -----------------------------------------------------------------------

    def _application_schema(self):
        return ApplicationSchema(now=self.store.clock.now(), zone=self.settings.zone, center_ids=self.settings.centers)

    def _case_command(self, request, case_id, schema, handler):
        principal = self.store.authenticate(request)
        command = validate(schema, parse_json(request))
        return self._command(
            request,
            principal,
            lambda uow: handler(uow, PostgresIntakeRecords(uow.cursor), self.settings, principal, case_id, **command),
        )

    def _command(self, request, principal, decide, status=200):
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                with api_errors():
                    return self.store.command(request, principal, decide, status)
            except ConcurrencyError:
                if attempt == COMMAND_ATTEMPTS:
                    raise Conflict("the case keeps changing; try again", status=None) from None
