"""Failed logins counted for any login name and any client address: the throttle rule.

A known account counts its failures as events in its own stream (`LoginFailed`,
`LoginLocked`, domain.py); a login name that is no account, and every client address,
count theirs in the table `console_login_failures` (schema.py), keyed by a SHA-256 so the
table holds neither the names people typed (a password typed into the wrong field, a
person's name) nor their addresses. Both follow the one rule below, so a name that is no
account locks exactly as an account would, and an answer tells nothing about which names
exist.
"""

import dataclasses
import hashlib
from datetime import datetime, timedelta


def locks(failures, now, limit, window):
    """Whether the failures (their times, the one just made included) lock: `limit` of
    them within `window` of `now`."""
    return len([at for at in failures if now - at < window]) >= limit


@dataclasses.dataclass(frozen=True)
class Failures:
    """The failed logins of one name or address since its last lock."""

    times: tuple[datetime, ...] = ()
    locked_until: datetime | None = None

    def locked(self, now):
        """The end of the lock, or None when it is not locked at `now`."""
        return self.locked_until if self.locked_until is not None and now < self.locked_until else None

    def after_failure(self, now, limit, window, duration):
        recent = tuple(at for at in self.times if now - at < window) + (now,)
        if locks(recent, now, limit, window):
            return Failures((), now + duration)
        return Failures(recent, self.locked_until)

    def forget_after(self, window):
        """When this row says nothing any more: the lock is over and every failure is older than the window."""
        moments = [at + window for at in self.times]
        if self.locked_until is not None:
            moments.append(self.locked_until)
        return max(moments)


def name_key(login):
    return "name:" + hashlib.sha256(login.encode("utf-8")).hexdigest()


def address_key(address):
    return "address:" + hashlib.sha256((address or "unknown").encode("utf-8")).hexdigest()


def minutes_left(until, now):
    """Whole minutes until `until`, at least 1 (for 请于 N 分钟后再试)."""
    return max(1, -(-int((until - now) / timedelta(seconds=1)) // 60))
