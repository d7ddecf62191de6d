"""The benchmarks run end to end at tiny sizes, so they do not rot (their figures are not checked)."""

import os
import subprocess
import sys

from services.common import namespace
from tests import support


def test_every_benchmark_runs_at_tiny_size_and_writes_its_table(infrastructure, tmp_path):
    output = tmp_path / "RESULTS.md"
    bench_namespace = f"{support.NAMESPACE}_bench"
    env = dict(os.environ, TIAOJIE_BENCH_NS=bench_namespace)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=support.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = output.read_text(encoding="utf-8")
    for row in (
        "append, 1 event per commit",
        "append, 100 events per commit",
        "global order: advisory lock to commit, 4 writer(s)",
        "relay: store → broker, publisher confirms",
        "projection replay (tiaojie replay metrics)",
        "end to end: lifecycles/s",
        "end to end: p99 command → /metrics",
        "scaling: lifecycles/s with",
        "peak RSS under e2e load: metrics",
    ):
        assert row in text, f"missing row {row!r} in:\n{text}"
    assert "FAILED" not in text and "NOT RUN" not in text, text
    assert "Machine: " in text and "PostgreSQL" in text and "RabbitMQ" in text
    # `make bench` removes its databases and vhost, as the tests do.
    assert namespace.leftovers(support.PG_SERVER, bench_namespace) == {"databases": [], "vhosts": [], "users": []}
