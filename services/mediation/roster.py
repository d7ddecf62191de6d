"""The roster (调解员名册): registering mediators, renewing certificates, reading the roster."""

import logging

from services.common.errors import NotFound
from services.events import MediatorRegistered

from .domain import Mediator
from .readmodels import roster_row
from .views import is_uuid, mediator_view

log = logging.getLogger(__name__)


def register_mediator(command, uow):
    command.require_roster(command.center_id)
    mediator_id = uow.settings.new_id()
    mediator = Mediator(Mediator.stream_for(mediator_id))
    mediator.register(
        mediator_id=mediator_id,
        center_id=command.center_id,
        name=command.name,
        certificate_no=command.certificate_no,
        certificate_expires=command.certificate_expires,
        full_time=command.full_time,
        now=uow.clock.now(),
    )
    save_mediator(uow, mediator)
    log.info("mediator registered", extra={"center_id": mediator.center_id})
    return _mediator_answer(uow, mediator)


def renew_certificate(command, uow):
    if is_uuid(command.mediator_id):
        uow.views.lock_mediator(command.mediator_id)
    mediator = _load_mediator(uow, command.mediator_id)
    command.require_roster(mediator.center_id)
    mediator.renew_certificate(command.certificate_no, command.certificate_expires, uow.clock.now())
    save_mediator(uow, mediator)
    return _mediator_answer(uow, mediator)


def get_mediator(uow, principal, mediator_id):
    mediator = _load_mediator(uow, mediator_id)
    principal.require_read(mediator.center_id)
    return _mediator_answer(uow, mediator)


def roster(uow, principal, query):
    """调解员名册: one center's mediators (a center's staff see their own center by default)."""
    settings = uow.settings
    center_id = query["center_id"] or (principal.center_id if principal.role == "center" else None)
    if center_id:
        principal.require_read(center_id)
    today = settings.today(uow.clock.now())
    rows = uow.views.roster(center_id)
    if uow.vault is not None:  # the roster keeps the names sealed
        rows = uow.vault.open(rows, uow.events.keys)
    mediators = [mediator_view(row, settings, today) for row in rows]
    return {
        "center_id": center_id,
        "mediators": mediators,
        "full_time": sum(1 for m in mediators if m["full_time"]),
        "certified": sum(1 for m in mediators if m["certificate_valid"]),
    }


def _mediator_answer(uow, mediator):
    settings = uow.settings
    return mediator_view(roster_row(mediator), settings, settings.today(uow.clock.now()))


def _load_mediator(uow, mediator_id):
    mediator = uow.load(Mediator, Mediator.stream_for(mediator_id)) if is_uuid(mediator_id) else None
    if mediator is None or not mediator.exists:
        raise NotFound("no mediator with this id")
    return mediator


def save_mediator(uow, mediator):
    # The append goes last: it takes the store's append lock, held until commit.
    uow.views.save_mediator(mediator, name=_sealed_name(uow, mediator))
    uow.save(mediator)


def _sealed_name(uow, mediator):
    """The mediator's name as the roster keeps it: sealed with the mediator's key, as in their events."""
    if uow.vault is None:
        return mediator.name
    data = {"mediator_id": mediator.mediator_id, "name": mediator.name}
    return uow.events.sealed(mediator.stream_id, MediatorRegistered.name, data)["name"]
