"""Clocks: time is injected, so tests move it instead of waiting.

`FileOffsetClock` lets tests move the time of running service processes: it adds the
offset (in seconds) written in a file to the real time. Several processes reading the
same file share one moved clock. Production uses `SystemClock`.
"""

import os
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self):
        return datetime.now(UTC)


class FixedClock:
    """A clock for unit tests: stands still until moved."""

    def __init__(self, at=None):
        self._now = at or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self):
        return self._now

    def advance(self, **delta):
        self._now += timedelta(**delta)

    def set(self, at):
        self._now = at


class FileOffsetClock:
    def __init__(self, path):
        self.path = path
        self._mtime = None
        self._offset = 0.0

    def _read_offset(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return 0.0
        if mtime != self._mtime:
            with open(self.path) as f:
                text = f.read().strip()
            self._offset = float(text) if text else 0.0
            self._mtime = mtime
        return self._offset

    def now(self):
        return datetime.now(UTC) + timedelta(seconds=self._read_offset())

    @staticmethod
    def move(path, seconds):
        """Set the offset: called by tests."""
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            f.write(str(seconds))
        os.replace(tmp, path)


def clock_from_config(config):
    path = (config or {}).get("CLOCK_FILE")
    return FileOffsetClock(path) if path else SystemClock()
