"""The results table and bench/RESULTS.md: every row beside its baseline, with the machine and the date."""

import datetime
import os
import platform
import subprocess

import kombu
import psycopg2

from .common import AMQP_SERVER, PG_SERVER


def machine():
    """nproc, memory, CPU model, PostgreSQL and RabbitMQ versions, Python."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        conn = psycopg2.connect(f"{PG_SERVER}/postgres")
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            postgres = cur.fetchone()[0]
            cur.execute("SELECT current_setting('synchronous_commit'), current_setting('shared_buffers')")
            sync, buffers = cur.fetchone()
        conn.close()
        postgres = f"{postgres} (synchronous_commit={sync}, shared_buffers={buffers})"
    except psycopg2.Error:
        postgres = "unreachable"
    try:
        # The server's default vhost: the bench's own is gone by the time the report is written.
        with kombu.Connection(f"{AMQP_SERVER}//") as conn:
            conn.ensure_connection(max_retries=1)
            rabbitmq = conn.connection.server_properties.get("version", "unknown")
    except Exception:  # noqa: BLE001 - describe what we can
        rabbitmq = "unreachable"
    return {
        "nproc": os.cpu_count(),
        "memory": memory,
        "cpu": cpu,
        "postgresql": postgres,
        "rabbitmq": rabbitmq,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": _git("rev-parse", "--short", "HEAD"),
    }


def _git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _num(value, unit=""):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def table(rows):
    lines = [
        "| benchmark | ours | baseline | baseline value | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}×"
        met = {True: "yes", False: "**no**", None: "—"}[row.meets_target]
        lines.append(
            f"| {row.benchmark} | {_num(row.ours, row.unit)} | {row.baseline_name or '—'} | "
            f"{_num(row.baseline, row.unit)} | {ratio} | {row.target or '—'} | {met} |"
        )
    return "\n".join(lines)


def slowest(rows):
    """The row furthest below its target (ratio ÷ target ratio), if any has a target."""
    scored = [(row.ratio / row.target_ratio, row) for row in rows if row.target_ratio and row.ratio is not None]
    return min(scored, key=lambda item: item[0])[1] if scored else None


def render(rows, notes, sizes, seconds, quick):
    info = machine()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Written by `python -m bench{' --quick' if quick else ''}` on {now}, commit {info['commit']}, "
        f"in {seconds / 60:.1f} minutes. Every figure and its baseline were measured in this run, on this "
        "machine; the ratio is ours ÷ baseline for rates, baseline ÷ ours for times (higher is better "
        "in both).",
        "",
        "Machine: "
        f"{info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, Linux {info['kernel']}; "
        f"PostgreSQL {info['postgresql']}; RabbitMQ {info['rabbitmq']}; Python {info['python']}.",
        "",
        table(rows),
        "",
        "Notes on the rows:",
        "",
    ]
    out += [f"- {row.benchmark}: {row.note}" for row in rows if row.note]
    worst = slowest(rows)
    out += ["", "## What bounds the slowest row", ""]
    if worst is not None:
        out.append(
            f"Furthest below its target: **{worst.benchmark}** ({worst.ratio:.2f}× against "
            f"{worst.baseline_name}; target {worst.target})."
        )
        out.append("")
    out += notes or ["(no profiles were taken)"]
    out += ["", "## Sizes", "", "```", *(f"{k} = {v}" for k, v in sizes.items()), "```", ""]
    return "\n".join(out)
