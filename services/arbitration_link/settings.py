"""The link's settings: resend backoff, assembly grace, sweep interval (read by its bootstrap).

- `TIAOJIE_REFERRAL_RESEND_SECONDS` (3600): wait before the first resend of an unanswered
  referral; each further resend waits twice as long, at most
  `TIAOJIE_REFERRAL_RESEND_MAX_SECONDS` (86400).
- `TIAOJIE_REFERRAL_ASSEMBLY_GRACE_SECONDS` (60): how long a referral waits for mediation
  events that precede its trigger but have not arrived yet (events of different types
  travel on different queues) before it is sent with the record it has.
- `TIAOJIE_REFERRAL_SWEEP_SECONDS` (10): how often the resend sweep runs.
"""

import dataclasses
from datetime import timedelta

from .domain import ResendSchedule


@dataclasses.dataclass(frozen=True)
class LinkSettings:
    schedule: ResendSchedule = ResendSchedule()
    assembly_grace: timedelta = timedelta(seconds=60)
    sweep_seconds: float = 10.0
