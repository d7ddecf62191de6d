"""When a step of a case happened (`occurred_at`), as staff give it (DOMAIN.md, "Time rules").

Staff often key in a step after it happened: a paper agreement signed on the last day is
entered the next morning. So every step records when it happened beside when it was
recorded, and deadlines are judged on when it happened. What staff may give is bounded:
never in the future, never before the step before it, at most `TIAOJIE_BACKDATE_DAYS`
(default 7) days back, so a late entry cannot quietly rewrite a period long reported.
"""

from datetime import timedelta

from .config import environment
from .errors import Rejected

DEFAULT_BACKDATE_DAYS = 7
# A client's clock may run a little ahead of ours: "in the future" means beyond this.
CLOCK_SKEW_SECONDS = 60


class StepTimeRefused(Rejected):
    """The given time of a step is outside what the rules allow (`field`: its request field); 422."""

    def __init__(self, field, message):
        super().__init__({field: [message]})
        self.field = field


def backdate_days(env=None):
    return int(environment(env).get("TIAOJIE_BACKDATE_DAYS", DEFAULT_BACKDATE_DAYS))


def step_time(given, now, after=None, days_back=DEFAULT_BACKDATE_DAYS, field="occurred_at"):
    """When the step happened: `given` if staff gave one within the bounds, else `now`.

    `after` is when the step before it happened (None for a first step)."""
    if given is None:
        return now
    if (given - now).total_seconds() > CLOCK_SKEW_SECONDS:
        raise StepTimeRefused(field, "Must not be in the future.")
    if given < now - timedelta(days=days_back):
        raise StepTimeRefused(field, f"Must not be more than {days_back} days back (TIAOJIE_BACKDATE_DAYS).")
    if after is not None and given < after:
        # Staff give a time to the minute (a form's datetime-local): one in the minute of the
        # step before it is not before it, and reads as that step's moment or later.
        if given < after.replace(second=0, microsecond=0):
            raise StepTimeRefused(field, f"Must not be before the step before it ({after.isoformat()}).")
        return after
    return given
