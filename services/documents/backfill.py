"""`tiaojie documents backfill`: issues the documents of a few cases per center, through the staff APIs.

(`tiaojie documents catch-up`, the other action of the command, is in `catch_up.py`.)

`make run` runs it once the demo's cases exist, so that a person finds real documents to
open (a signed agreement, a termination notice, a refusal) with curl or in the console.
For each center it takes the newest cases of each state from intake's and mediation's case
lists and issues, as that center's staff would, the documents the state allows and the
case does not have yet. Run again, it issues nothing twice.
"""

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from services.common.clock import FileOffsetClock
from services.common.config import http_port
from services.simulate.client import ApiRefused, ApiUnavailable, StaffApi

# (the service whose list is read, the status, the kinds issued for such a case, in order)
PLAN = (
    ("mediation", "agreement", ("acceptance_notice", "session_record", "agreement", "service_receipt")),
    ("mediation", "performed", ("agreement",)),
    ("mediation", "failed", ("termination_notice", "service_receipt")),
    ("mediation", "expired", ("termination_notice",)),
    ("intake", "not_accepted", ("rejection_notice",)),
)


def add_arguments(parser):
    parser.add_argument(
        "action",
        choices=["backfill", "catch-up"],
        help="backfill: issue documents for the newest cases of each center; "
        "catch-up: fill the case files from the other services' stores (events from before the service ran)",
    )
    parser.add_argument("--token-file", help="backfill: the demo tokens (run/tokens.json)")
    parser.add_argument("--per-center", type=int, default=1, help="cases of each state per center (default 1)")
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for the first agreement to appear")
    parser.add_argument(
        "--clock-file", help="the demo's shared clock: wait until the simulator's back-fill has reached today"
    )
    for service in ("intake", "mediation", "documents"):
        parser.add_argument(f"--{service}-url", default=f"http://localhost:{http_port(service)}")


def run(args):
    if args.action == "catch-up":
        from .catch_up import run as catch_up

        return catch_up(args)
    if not args.token_file:
        print("documents backfill: --token-file is required", file=sys.stderr)
        return 2
    with open(args.token_file, encoding="utf-8") as f:
        tokens = json.load(f)
    apis = {name: StaffApi(getattr(args, f"{name}_url")) for name in ("intake", "mediation", "documents")}
    if args.clock_file and not _wait_for_today(args.clock_file, args.wait):
        print("documents backfill: the simulator's back-fill has not reached today; nothing issued", file=sys.stderr)
        return 1
    if args.wait and not _wait_for_an_agreement(apis, tokens, args.wait):
        print("documents backfill: no agreement reached yet; nothing issued", file=sys.stderr)
        return 1
    try:
        issued = backfill(apis, tokens["centers"], args.per_center)
    except ApiUnavailable as exc:
        print(f"documents backfill: {exc}", file=sys.stderr)
        return 1
    agreement = next((doc for doc in issued if doc["kind"] == "agreement"), None)
    print(f"documents backfill: {len(issued)} documents issued for the demo cases")
    if agreement:
        print(
            f"  an agreement ({agreement['number']}):\n"
            f'  curl -s -H "Authorization: Bearer $(jq -r .centers.{agreement["center_id"]} {args.token_file})"'
            f" -o agreement.pdf {args.documents_url}/api/v1/documents/{agreement['document_id']}.pdf",
            flush=True,
        )
    return 0


def backfill(apis, center_tokens, per_center):
    """Issues the planned documents; returns what was issued (with its center)."""
    issued = []
    for center_id, token in center_tokens.items():
        for service, status, kinds in PLAN:
            listing = apis[service].get(f"/api/v1/cases?center_id={center_id}&status={status}", token)
            for summary in (listing.get("cases") or [])[:per_center]:
                issued += _issue_missing(apis["documents"], token, center_id, summary["case_id"], kinds)
    return issued


def _issue_missing(documents, token, center_id, case_id, kinds):
    try:
        case_file = documents.get(f"/api/v1/cases/{case_id}/documents", token)
    except ApiRefused:
        return []  # its events have not reached the documents service yet
    have = {doc["kind"] for doc in case_file["documents"]}
    issued = []
    for kind in kinds:
        if kind in have:
            continue
        try:
            answer = documents.post(
                f"/api/v1/cases/{case_id}/documents",
                token,
                {"kind": kind},
                idempotency_key=f"backfill-{case_id}-{kind}",
            )
        except ApiRefused:
            continue  # not allowed in the case's state (no session held, say)
        have.add(kind)
        issued.append({**answer, "center_id": center_id})
    return issued


def _wait_for_today(clock_file, timeout):
    """The simulator back-fills the year by moving the shared clock from 1 January to now."""
    clock = FileOffsetClock(clock_file)
    deadline = time.monotonic() + (timeout or 0)
    while clock.now() < datetime.now(UTC) - timedelta(hours=1):
        if time.monotonic() > deadline:
            return False
        time.sleep(5)
    return True


def _wait_for_an_agreement(apis, tokens, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            listing = apis["mediation"].get("/api/v1/cases?status=agreement", tokens["district"])
            for summary in listing.get("cases") or []:
                try:
                    apis["documents"].get(f"/api/v1/cases/{summary['case_id']}/documents", tokens["district"])
                    return True
                except ApiRefused:
                    continue
        except (ApiRefused, ApiUnavailable):
            pass
        time.sleep(5)
    return False
