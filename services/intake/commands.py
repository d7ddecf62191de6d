"""Intake's commands: what a staff request asks, once its body has passed the boundary schema."""

import dataclasses
from datetime import datetime

from services.common.commands import Command

from .domain import Application


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecordConsultation(Command):
    center_id: str
    channel: str
    topic: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegisterApplication(Command):
    application: Application

    @classmethod
    def from_request(cls, actor, loaded, **params):
        return cls(actor=actor, application=loaded, **params)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DecideAcceptance(Command):
    case_id: str
    decision: str
    reason: str | None = None
    occurred_at: datetime | None = None  # when it was decided, if not now (bounded: services.common.steps)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WithdrawApplication(Command):
    case_id: str
    reason: str
    occurred_at: datetime | None = None
