"""`python -m bench`: runs every benchmark, prints one table and writes bench/RESULTS.md.

    python -m bench                 full sizes (about 20–30 minutes on 2 cores)
    python -m bench --quick         tiny sizes, for the smoke test
    python -m bench --only append,relay --output /tmp/results.md

Everything runs in the bench namespace (`TIAOJIE_BENCH_NS`, default `tj_bench`): its own
databases and broker vhost, recreated per run and removed at its end.
"""

import argparse
import sys
import time
import traceback
from pathlib import Path

from . import append, endtoend, privacy, relay, replay, report
from .common import Row, remove_namespace

FULL = {
    "append_single": 2000,
    "rounds": 3,
    "append_batches": 40,
    "order_seconds": 5.0,
    "relay_cases": 10000,
    "replay_events": 1_000_000,
    "e2e_seconds": 30.0,
    "e2e_clients": 16,
    "latency_rate": 20.0,
    "latency_seconds": 20.0,
    "scaling_levels": [1_000, 100_000, 1_000_000],
    "privacy_cases": 300,
    "privacy_appends": 2000,
}
QUICK = {
    "append_single": 30,
    "rounds": 1,
    "append_batches": 2,
    "order_seconds": 0.3,
    "relay_cases": 100,
    "replay_events": 3000,
    "e2e_seconds": 2.0,
    "e2e_clients": 2,
    "latency_rate": 5.0,
    "latency_seconds": 1.0,
    "scaling_levels": [50, 100],
    "privacy_cases": 10,
    "privacy_appends": 30,
}
BENCHMARKS = {
    "append": append.run,
    "relay": relay.run,
    "replay": replay.run,
    "endtoend": endtoend.run,
    "privacy": privacy.run,
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--output", default=str(Path(__file__).parent / "RESULTS.md"))
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    started = time.perf_counter()
    rows, notes, failed = [], [], []
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        print(f"== {name}", flush=True)
        began = time.perf_counter()
        try:
            result = BENCHMARKS[name](
                sizes, log=lambda line: print(f"  [{time.perf_counter() - started:5.0f} s] {line}", flush=True)
            )
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(f"{name}: FAILED", None, "", "", None, note=f"{type(exc).__name__}: {exc}"[:300]))
            continue
        print(f"   ({time.perf_counter() - began:.0f} s)", flush=True)
        bench_rows, bench_notes = result
        rows += bench_rows
        notes += bench_notes
    remove_namespace()
    text = report.render(rows, notes, sizes, time.perf_counter() - started, args.quick)
    Path(args.output).write_text(text, encoding="utf-8")
    print()
    print(report.table(rows))
    print(f"\nwritten: {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
