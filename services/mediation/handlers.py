"""The mediation service layer, by concern; each handler runs in a unit of work the caller opens.

- `roster`: registering mediators, renewing certificates, the roster;
- `cases`: staff commands on a case's mediation;
- `complaints`: filing, reading and answering complaints;
- `consumed`: intake's and the link's events;
- `sweep`: what the clock decides;
- `views`: the mediation and lists as the API answers them.

Handlers take `(command, uow)`; the read models are `uow.views` and the settings
`uow.settings` (both from services/mediation/bootstrap.py). Unit tests run them on a
`FakeUnitOfWork` with `InMemoryReadModels`.
"""

from .cases import (
    assign_mediator,
    extend,
    fail,
    hold_session,
    reach_agreement,
    record_survey,
    report_performance,
    request_review,
    withdraw,
)
from .complaints import answer_complaint, file_complaint, get_complaint, list_complaints
from .consumed import open_mediation, record_review_decision, withdraw_on_intake
from .roster import get_mediator, register_mediator, renew_certificate, roster
from .settings import Settings
from .sweep import sweep
from .views import get_mediation, list_mediations, mediation_history, mediation_view, mediator_view

__all__ = [
    "Settings",
    "answer_complaint",
    "assign_mediator",
    "extend",
    "fail",
    "file_complaint",
    "get_complaint",
    "get_mediation",
    "get_mediator",
    "hold_session",
    "list_complaints",
    "list_mediations",
    "mediation_history",
    "mediation_view",
    "mediator_view",
    "open_mediation",
    "reach_agreement",
    "record_review_decision",
    "record_survey",
    "register_mediator",
    "renew_certificate",
    "report_performance",
    "request_review",
    "roster",
    "sweep",
    "withdraw",
    "withdraw_on_intake",
]
