"""A look at a case's personal data shown by a service other than intake: an event of that
service, which intake consumes into the case's looks (docs/PRIVACY.md, "Looks")."""

import uuid

from .envelope import NewEvent


def report_look(uow, event_type, principal, case_id, center_id, route, **data):
    """Appends `event_type` (one of `services.events.LOOK_EVENTS`) in a stream `look-<id>` of
    its own: who (the principal's actor), when, which case, through which route. In the
    unit of work that reads what is shown, so a refused read records nothing."""
    now = uow.clock.now()
    new_id = getattr(uow.settings, "new_id", None) or (
        lambda: str(uuid.uuid4())
    )  # the service's ids, when it has a source
    uow.events.append(
        f"look-{new_id()}",
        0,
        [
            NewEvent(
                event_type.name,
                {"case_id": case_id, "center_id": center_id, "route": route, "looked_at": now.isoformat(), **data},
                case_id=case_id,
                center_id=center_id,
                occurred_at=now,
            )
        ],
        correlation_id=uow.correlation_id,
        causation_id=uow.causation_id,
        actor=principal.actor,
    )
