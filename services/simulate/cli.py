"""`tiaojie simulate`: a seeded district workload through the staff HTTP APIs.

    tiaojie simulate --from 2026-01-01 --rate 30          # back-fill this year, then live
    tiaojie simulate --cases 50 --rate 120 --seed 7       # 50 live cases, then stop

Back-filling a past period needs the services to share the simulator's clock file
(`TIAOJIE_CLOCK_FILE`, as `make run` arranges): each simulated day is lived with the
services' clock on that day, so their deadlines, expiries and defaults fall as they would.
"""

import json
import logging
import signal
import sys
import time
from datetime import date, datetime
from datetime import time as day_time

from services.common.centers import load_centers
from services.common.clock import FileOffsetClock, SystemClock
from services.common.config import environment, timezone_name

from .client import StaffApi
from .driver import District, Tokens, backfill, live
from .workload import DistrictWorkload

log = logging.getLogger(__name__)


def add_arguments(parser):
    env = environment()
    parser.add_argument("--intake-url", default=env.get("TIAOJIE_INTAKE_URL", "http://localhost:8001"))
    parser.add_argument("--mediation-url", default=env.get("TIAOJIE_MEDIATION_URL", "http://localhost:8002"))
    parser.add_argument(
        "--token-file",
        help='JSON {"centers": {center_id: token}, "district": token}; '
        "without it, tokens are issued (needs the databases)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the same seed repeats the same workload")
    parser.add_argument(
        "--from",
        dest="start",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="back-fill from this day up to now before running live",
    )
    parser.add_argument(
        "--clock-file",
        default=env.get("TIAOJIE_CLOCK_FILE"),
        help="the services' shared clock offset file, moved day by day while back-filling",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="live cases per minute (0: no live phase)")
    parser.add_argument("--cases", type=int, help="stop after this many live cases")
    parser.add_argument("--duration", type=float, help="stop receiving live cases after this many seconds")
    parser.add_argument("--day-seconds", type=float, default=2.0, help="how long a simulated day lasts live")
    parser.add_argument("--concurrency", type=int, default=16, help="cases worked on at once while back-filling")
    parser.add_argument(
        "--centers",
        type=lambda text: [c for c in text.split(",") if c],
        help="only these centers (comma-separated ids); default: every center",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def load_tokens(path, centers):
    if path:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        return Tokens(centers=raw["centers"], district=raw.get("district"))
    from services.operations import create_token

    return Tokens(
        centers={c.center_id: create_token("center", c.center_id) for c in centers}, district=create_token("district")
    )


def run(args):
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    centers = load_centers()
    if args.centers:
        unknown = set(args.centers) - {c.center_id for c in centers}
        if unknown:
            print(f"simulate: unknown centers: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        centers = [c for c in centers if c.center_id in args.centers]
    zone_name = timezone_name()
    tokens = load_tokens(args.token_file, centers)
    clock = SystemClock()
    district = District(StaffApi(args.intake_url), StaffApi(args.mediation_url), tokens, clock, zone_name)
    workload = DistrictWorkload(centers, seed=args.seed, timezone=zone_name)

    stop = {"signal": None}

    def on_signal(signum, frame):
        stop["signal"] = signum
        district.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    pending = []
    started = time.monotonic()
    if args.start:
        start = datetime.combine(args.start, day_time(9), district.zone)
        end = clock.now()
        if not args.clock_file:
            print("simulate: no --clock-file: back-filled mediations will meet deadlines already past", file=sys.stderr)
        else:
            FileOffsetClock.move(args.clock_file, (start - end).total_seconds())
        district.register_roster(workload.mediators(args.start))
        cases, consultations = workload.backfill(start, end)
        _say(
            args,
            f"back-filling {len(cases)} cases and {len(consultations)} consultations "
            f"from {args.start} ({len(centers)} centers)",
        )
        pending = backfill(
            district,
            cases,
            consultations,
            start,
            end,
            clock_file=args.clock_file,
            concurrency=args.concurrency,
            on_day=lambda day: day.day == 1 and _say(args, f"  {day:%Y-%m} ..."),
        )
        _say(args, f"back-filled in {time.monotonic() - started:.0f}s")
    else:
        district.register_roster(workload.mediators(clock.now().astimezone(district.zone).date()))
    live_cases = 0
    if args.rate > 0 and not district.stopping:
        live_started = time.monotonic()
        _say(args, f"live: {args.rate:g} cases a minute, a day lasting {args.day_seconds:g}s")

        def until():
            return district.stopping or (args.duration is not None and time.monotonic() - live_started >= args.duration)

        live_cases = live(district, workload, args.rate, args.day_seconds, until, pending, max_cases=args.cases)
    summary = {
        "live_cases": live_cases,
        "seconds": round(time.monotonic() - started, 1),
        "actions": district.tally.summary(),
    }
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        for action, results in summary["actions"].items():
            print(f"{action:22} " + "  ".join(f"{k} {v}" for k, v in sorted(results.items())))
    return 0 if not any("failed" in r for r in summary["actions"].values()) else 1


def _say(args, text):
    if not args.json:
        print(text, flush=True)
    return True
