"""What every handler builds on, with no HTTP in it: the command value and the one retry policy."""

import dataclasses
import logging

from .errors import ConcurrencyError

log = logging.getLogger(__name__)


# How often a command (or a consumed event) that lost an optimistic-concurrency race is
# decided again on the new state: one number for every service.
ATTEMPTS = 5


def decide_again(attempt, attempts=ATTEMPTS):
    """Runs `attempt()` (one whole unit of work) again while it loses a race; the last loss raises."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except ConcurrencyError as exc:
            if number == attempts:
                raise
            log.info("lost a race on %s; deciding again on the new state", exc.stream_id)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Command:
    """A request after the boundary: `actor` is who asks (None for a trusted caller: RPC, CLI).

    A command is a frozen dataclass naming the path's parameters and the fields its schema
    loads; `from_request` builds it from the schema's value, which is spread into the
    fields when it is a dict (override it when the schema loads a domain value).
    """

    actor: object = None

    @classmethod
    def from_request(cls, actor, loaded, **params):
        return cls(actor=actor, **params, **loaded)

    def require_write(self, center_id):
        """Forbidden unless the actor may change that center's cases (a trusted caller may)."""
        if self.actor is not None:
            self.actor.require_write(center_id)

    def require_roster(self, center_id):
        """Forbidden unless the actor may keep that center's roster of mediators."""
        if self.actor is not None:
            self.actor.require_roster(center_id)

    def require_complaint_answer(self, center_id):
        """Forbidden unless the actor may answer that center's complaints (its head, the district)."""
        if self.actor is not None:
            self.actor.require_complaint_answer(center_id)

    def require_read(self, center_id):
        if self.actor is not None:
            self.actor.require_read(center_id)
