"""The link's bootstrap: its settings, read once at start, and the repositories of its unit of work.

- `TIAOJIE_REFERRAL_RESEND_SECONDS` (3600): wait before the first resend of an unanswered
  referral; each further resend waits twice as long, at most
  `TIAOJIE_REFERRAL_RESEND_MAX_SECONDS` (86400).
- `TIAOJIE_REFERRAL_ASSEMBLY_GRACE_SECONDS` (60), `TIAOJIE_REFERRAL_SWEEP_SECONDS` (10).

Its units of work seal the personal fields of what it records (the institute's
recommendation letters) and hand out what they load as stored: the link reads personal
data in clear only at its boundary, when it publishes to the institute.
"""

from datetime import timedelta

from services.common.bootstrap import wire
from services.common.config import environment
from services.common.keystore import Vault

from .domain import Recommendation, Referral, ResendSchedule
from .repository import CaseFiles, ReferralTable
from .settings import LinkSettings


def link_settings(env=None):
    env = environment(env)
    return LinkSettings(
        schedule=ResendSchedule(
            initial_seconds=float(env.get("TIAOJIE_REFERRAL_RESEND_SECONDS", "3600")),
            max_seconds=float(env.get("TIAOJIE_REFERRAL_RESEND_MAX_SECONDS", "86400")),
        ),
        assembly_grace=timedelta(seconds=float(env.get("TIAOJIE_REFERRAL_ASSEMBLY_GRACE_SECONDS", "60"))),
        sweep_seconds=float(env.get("TIAOJIE_REFERRAL_SWEEP_SECONDS", "10")),
    )


def bootstrap(config, env=None):
    env = environment(env)
    vault = Vault.from_env(env, max_connections=int(config.get("DB_POOL_SIZE", 20)))
    return wire(
        config,
        settings=link_settings(env),
        repositories={"case_files": CaseFiles, "referral_table": ReferralTable},
        aggregates=(Referral, Recommendation),
        vault=vault,
        open_loaded=False,
    )
