"""Projection replay: `tiaojie replay metrics` over about a million events, against a raw server-side cursor.

The history is written by bulk SQL into the bench namespace's intake, mediation and
arbitration_link stores; the replay runs as the operator would run it (the CLI, in its
own process, under py-spy so the account of where its time goes comes from the same
run). The baseline reads the same rows, every column, through a psycopg2 named cursor.
"""

import sys
import time

import psycopg2

from services.common.config import database_url
from services.common.eventstore import _COLUMNS

from . import history, profile
from .common import Row, execute, rate
from .services import ROOT, bench_env, setup_namespace

STORES = ("intake", "mediation", "arbitration_link")


def store_urls(env):
    return {name: database_url(name, env) for name in STORES}


def raw_cursor_read(urls):
    """Rows per second of a named (server-side) cursor over every store, in position order."""
    total = 0
    start = time.perf_counter()
    for url in urls.values():
        conn = psycopg2.connect(url)
        try:
            with conn.cursor(name="bench_replay_baseline") as cur:
                cur.itersize = 10000
                cur.execute(f"SELECT {_COLUMNS} FROM events ORDER BY position")
                for _ in cur:
                    total += 1
        finally:
            conn.close()
    return total, time.perf_counter() - start


def replay_available():
    try:
        import services.metrics.replay  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def run_replay(env, timeout=900):
    """Runs `tiaojie replay metrics`; returns (seconds, CompletedProcess, profile lines)."""
    command = [sys.executable, "-m", "services.cli", "replay", "metrics"]
    start = time.perf_counter()
    result, lines = profile.run_spied(command, env, ROOT, timeout)
    return time.perf_counter() - start, result, lines


def run(sizes, log=print):
    env = bench_env()
    setup_namespace(env, broker=False)
    urls = store_urls(env)
    cases = max(1, int(sizes["replay_events"] / history.events_per_case()))
    written = history.fill(urls, cases, seed="replay")
    count = sum(execute(url, "SELECT count(*) FROM events")[0][0] for url in urls.values())
    log(f"replay history: {count} events ({written})")
    raw_count, raw_seconds = raw_cursor_read(urls)
    raw_rate = rate(raw_count, raw_seconds)
    log(f"raw server-side cursor: {raw_rate:.0f} rows/s")
    rows, notes = [], []
    if not replay_available():
        rows.append(
            Row(
                "projection replay (tiaojie replay metrics)",
                None,
                "events/s",
                "raw server-side cursor, same rows",
                raw_rate,
                "≥ 0.3×",
                target_ratio=0.3,
                note="NOT RUN: services/metrics/replay.py is not in the tree yet",
            )
        )
        return rows, notes
    seconds, result, profile_lines = run_replay(env)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-800:]
        rows.append(
            Row(
                "projection replay (tiaojie replay metrics)",
                None,
                "events/s",
                "raw server-side cursor, same rows",
                raw_rate,
                "≥ 0.3×",
                target_ratio=0.3,
                note=f"FAILED (exit {result.returncode})",
            )
        )
        notes.append(f"`tiaojie replay metrics` failed:\n\n```\n{tail}\n```")
        return rows, notes
    ours_rate = rate(count, seconds)
    log(f"replay metrics: {count} events in {seconds:.1f} s = {ours_rate:.0f}/s")
    rows.append(
        Row(
            "projection replay (tiaojie replay metrics)",
            ours_rate,
            "events/s",
            "raw server-side cursor, same rows",
            raw_rate,
            "≥ 0.3×",
            target_ratio=0.3,
            note=f"{count} events in {seconds:.1f} s (target: 1M in < 60 s); whole CLI process, "
            "under py-spy --nonblocking",
        )
    )
    notes.append("Profile of `tiaojie replay metrics` (py-spy, idle samples included):\n\n" + "\n".join(profile_lines))
    return rows, notes
