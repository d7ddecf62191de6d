"""The console's settings from the environment (session lengths and login limits of CONTRACTS §7)."""

from datetime import timedelta

from services.common.config import environment

from .accounts import AccountSettings


def account_settings(env=None):
    env = environment(env)
    lock = timedelta(minutes=float(env.get("TIAOJIE_LOGIN_WINDOW_MINUTES", "15")))
    return AccountSettings(
        lockout_failures=int(env.get("TIAOJIE_LOGIN_FAILURES_PER_NAME", "5")),
        address_failures=int(env.get("TIAOJIE_LOGIN_FAILURES_PER_ADDRESS", "50")),
        lockout_window=lock,
        lockout_duration=lock,
        session_idle=timedelta(minutes=float(env.get("TIAOJIE_SESSION_IDLE_MINUTES", "30"))),
        session_absolute=timedelta(hours=float(env.get("TIAOJIE_SESSION_MAX_HOURS", "12"))),
    )
