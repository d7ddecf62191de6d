"""The mediation service's nameko entrypoints: the staff API on port 8002, intake's and
arbitration_link's events, and the sweep that lets deadlines pass by themselves.

Entrypoints only route: staff commands go through the kernel's pipeline
(`self.store.commands`), reads through `commands.read`, events through `store.consume`.
"""

from services.common.http import api, validate
from services.common.messaging import inbox_handler
from services.common.service import BaseService, EventRelay, ServiceStore, every
from services.events import ApplicationWithdrawn, CaseAccepted, ReviewDecided

from . import commands, handlers, schemas
from .bootstrap import bootstrap

INTAKE_CASES = "intake_cases"  # one inbox consumer for both intake events, so `previous_version` spans them


class MediationService(BaseService):
    name = "mediation"
    store = ServiceStore(bootstrap)
    relay = EventRelay()

    def _case_command(self, request, case_id, handler, command_type, schema, optional_body=False):
        return self.store.commands.run(
            request, handler, command_type, schema, optional_body=optional_body, case_id=case_id
        )

    def _dated(self, schema_class):
        """A boundary schema whose dates are checked against today in the district."""
        return schema_class(now=self.store.clock.now(), zone=self.store.settings.tz)

    def _read(self, request, answer):
        return self.store.commands.read(request, answer)

    # -- the roster ---------------------------------------------------------------------
    @api("POST", "/api/v1/mediators")
    def register_mediator(self, request):
        return self.store.commands.run(
            request,
            handlers.register_mediator,
            commands.RegisterMediator,
            self._dated(schemas.MediatorRegistration),
            201,
        )

    @api("GET", "/api/v1/mediators")
    def roster(self, request):
        return self._read(
            request,
            lambda actor, uow: handlers.roster(uow, actor, validate(schemas.RosterQuery(), request.args.to_dict())),
        )

    @api("GET", "/api/v1/mediators/<string:mediator_id>")
    def get_mediator(self, request, mediator_id):
        return self._read(request, lambda actor, uow: handlers.get_mediator(uow, actor, mediator_id))

    @api("POST", "/api/v1/mediators/<string:mediator_id>/certificate")
    def renew_certificate(self, request, mediator_id):
        return self.store.commands.run(
            request,
            handlers.renew_certificate,
            commands.RenewCertificate,
            self._dated(schemas.CertificateRenewal),
            mediator_id=mediator_id,
        )

    # -- the mediation of a case ----------------------------------------------------------
    @api("GET", "/api/v1/cases")
    def list_cases(self, request):
        return self._read(
            request,
            lambda actor, uow: handlers.list_mediations(
                uow, actor, validate(schemas.CaseListQuery(), request.args.to_dict())
            ),
        )

    @api("GET", "/api/v1/cases/<string:case_id>")
    def get_case(self, request, case_id):
        return self._read(request, lambda actor, uow: handlers.get_mediation(uow, actor, case_id))

    @api("GET", "/api/v1/cases/<string:case_id>/history")
    def get_history(self, request, case_id):
        return self._read(request, lambda actor, uow: handlers.mediation_history(uow, actor, case_id))

    @api("POST", "/api/v1/cases/<string:case_id>/assignment")
    def assign_mediator(self, request, case_id):
        return self._case_command(
            request, case_id, handlers.assign_mediator, commands.AssignMediator, schemas.Assignment()
        )

    @api("POST", "/api/v1/cases/<string:case_id>/sessions")
    def hold_session(self, request, case_id):
        return self._case_command(
            request, case_id, handlers.hold_session, commands.HoldSession, self._dated(schemas.Session)
        )

    @api("POST", "/api/v1/cases/<string:case_id>/extension")
    def extend(self, request, case_id):
        return self._case_command(request, case_id, handlers.extend, commands.Extend, schemas.Extension())

    @api("POST", "/api/v1/cases/<string:case_id>/agreement")
    def reach_agreement(self, request, case_id):
        return self._case_command(
            request, case_id, handlers.reach_agreement, commands.ReachAgreement, self._dated(schemas.Agreement)
        )

    @api("POST", "/api/v1/cases/<string:case_id>/failure")
    def fail(self, request, case_id):
        return self._case_command(request, case_id, handlers.fail, commands.Fail, schemas.Failure())

    @api("POST", "/api/v1/cases/<string:case_id>/withdrawal")
    def withdraw(self, request, case_id):
        return self._case_command(request, case_id, handlers.withdraw, commands.Withdraw, schemas.Withdrawal())

    @api("POST", "/api/v1/cases/<string:case_id>/review-request")
    def request_review(self, request, case_id):
        return self._case_command(
            request, case_id, handlers.request_review, commands.RequestReview, schemas.ReviewRequest(), True
        )

    @api("POST", "/api/v1/cases/<string:case_id>/performance")
    def report_performance(self, request, case_id):
        return self._case_command(
            request, case_id, handlers.report_performance, commands.ReportPerformance, schemas.Performance()
        )

    @api("POST", "/api/v1/cases/<string:case_id>/survey")
    def record_survey(self, request, case_id):
        return self._case_command(request, case_id, handlers.record_survey, commands.RecordSurvey, schemas.Survey())

    @api("POST", "/api/v1/complaints")
    def file_complaint(self, request):
        return self.store.commands.run(
            request, handlers.file_complaint, commands.FileComplaint, schemas.ComplaintFiling(), 201
        )

    @api("GET", "/api/v1/complaints")
    def list_complaints(self, request):
        return self._read(
            request,
            lambda actor, uow: handlers.list_complaints(
                uow, actor, validate(schemas.ComplaintListQuery(), request.args.to_dict())
            ),
        )

    @api("GET", "/api/v1/complaints/<string:complaint_id>")
    def get_complaint(self, request, complaint_id):
        return self._read(request, lambda actor, uow: handlers.get_complaint(uow, actor, complaint_id))

    @api("POST", "/api/v1/complaints/<string:complaint_id>/answer")
    def answer_complaint(self, request, complaint_id):
        return self.store.commands.run(
            request,
            handlers.answer_complaint,
            commands.AnswerComplaint,
            schemas.ComplaintAnswer(),
            complaint_id=complaint_id,
        )

    # -- events from other services -------------------------------------------------------
    @inbox_handler(CaseAccepted)
    def on_case_accepted(self, envelope):
        self.store.consume(INTAKE_CASES, envelope, handlers.open_mediation)

    @inbox_handler(ApplicationWithdrawn)
    def on_application_withdrawn(self, envelope):
        self.store.consume(INTAKE_CASES, envelope, handlers.withdraw_on_intake)

    @inbox_handler(ReviewDecided)
    def on_review_decided(self, envelope):
        self.store.consume("review_decisions", envelope, handlers.record_review_decision)

    # -- deadlines by themselves ----------------------------------------------------------
    @every("sweep_interval_seconds")
    def sweep(self):
        handlers.sweep(self.store.unit_of_work)
