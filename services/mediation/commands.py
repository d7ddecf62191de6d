"""Mediation's commands: what a staff request asks, once its body has passed the boundary schema."""

import dataclasses
from datetime import date, datetime
from decimal import Decimal

from services.common.commands import Command


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegisterMediator(Command):
    center_id: str
    name: str
    certificate_no: str | None = None
    certificate_expires: date | None = None
    full_time: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class RenewCertificate(Command):
    mediator_id: str
    certificate_no: str
    certificate_expires: date


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileComplaint(Command):
    center_id: str
    case_id: object  # a UUID, or None
    text: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnswerComplaint(Command):
    complaint_id: str
    answer: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaseCommand(Command):
    """A command on the mediation of one case: a step, which happened at `occurred_at` if
    staff give it (bounded: services.common.steps), else now."""

    case_id: str
    occurred_at: datetime | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AssignMediator(CaseCommand):
    mediator_id: object


@dataclasses.dataclass(frozen=True, kw_only=True)
class HoldSession(CaseCommand):
    held_at: datetime  # the session's occurred_at (schemas.Session: one or both, agreeing)
    summary: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Extend(CaseCommand):
    days: int
    parties_consent: bool


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReachAgreement(CaseCommand):
    terms: str
    amount: Decimal
    performance_due: date


@dataclasses.dataclass(frozen=True, kw_only=True)
class Fail(CaseCommand):
    reason: str
    reason_code: str | None = None  # one of FAILURE_REASON_CODES; None when staff gave none


@dataclasses.dataclass(frozen=True, kw_only=True)
class Withdraw(CaseCommand):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestReview(CaseCommand):
    note: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportPerformance(CaseCommand):
    performed: bool


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecordSurvey(CaseCommand):
    score: int
    comment: str | None = None
