"""The console's settings from the environment (session lengths of CONTRACTS §7)."""

from datetime import timedelta

from services.common.config import environment

from .accounts import AccountSettings


def account_settings(env=None):
    env = environment(env)
    return AccountSettings(
        session_idle=timedelta(minutes=float(env.get("TIAOJIE_SESSION_IDLE_MINUTES", "30"))),
        session_absolute=timedelta(hours=float(env.get("TIAOJIE_SESSION_MAX_HOURS", "12"))),
    )
