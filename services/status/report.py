"""The status report as text for a person at a terminal: services, broker, backlog, queues,
lag, leadership, reconciliation, and the verdict on its last line."""

from services.status.probes import calendar_warnings


def print_report(report):
    print("services")
    for name, s in report["services"].items():
        state = "ready" if s["ready"] else ("up, NOT READY" if s["health"] else "DOWN")
        print(f"  {name:17} {state:14} {s['url']}")
    for warning in calendar_warnings(report["services"]):
        print(f"  !! CALENDAR WARNING: {warning}")
    handles = report["broker"]
    if handles["file_handle_limit"] is not None:
        print(f"broker file handles: {handles['file_handles_used']} of {handles['file_handle_limit']} in use")
    if handles["problem"]:
        print(f"  PROBLEM: {handles['problem']}")
    print("relay backlog (events committed, not yet published)")
    for name, relays in report["relay_backlog"].items():
        print(f"  {name:17} " + (", ".join(f"{r} {n}" for r, n in relays.items()) or "(publishes nothing)"))
    print("queues (ready / dead letters)")
    for queue, q in report["queues"].items():
        if q.get("messages") or q.get("dead") or queue.startswith("arbitration."):
            print(f"  {queue:70} {q.get('messages')!s:>6} / {q.get('dead')!s:>4}")
    busy = [q for q in report["queues"].values() if q.get("messages")]
    print(f"  ({len(report['queues'])} queues, {len(busy)} with messages waiting)")
    print("consumer lag (seconds, at the last event applied)")
    for consumer, lag in sorted(report["consumer_lag_seconds"].items()):
        print(f"  {consumer:50} {lag:10.3f}")
    lead = report["leadership"]
    if "metrics" in report["down"]:
        print("leadership: metrics is down, nothing to show")
    else:
        print_leadership(lead)
    print("reconciliation")
    for check in report["reconciliation"]:
        if check["ok"] is None:
            print(f"  SKIPPED  {check['check']}  ({check['skipped']})")
            continue
        state = "OK      " if check["ok"] else "MISMATCH"
        shown = check["actual"] if isinstance(check["actual"], int) else ""
        print(f"  {state} {check['check']}  {shown}")
        if not check["ok"]:
            print(f"           expected {check['expected']}\n           actual   {check['actual']}")
    if report["down"]:
        down = " ".join(report["down"])
        print(f"DOWN: {', '.join(report['down'])} (start with `tiaojie serve {down}` or `make run`)")
    elif report["broker"]["problem"]:
        print("BROKER: its file-handle limit is too low (see above)")
    else:
        print("OK" if report["ok"] else "MISMATCH")


def print_leadership(lead):
    print(f"leadership: success rate this year (target {lead['target']:.0%})")
    for row in lead["centers"]:
        rate = row["success_rate_year"]
        mark = "  " if rate is None else ("✓ " if row["meets_target"] else "✗ ")
        shown = "   —  " if rate is None else f"{rate:6.1%}"
        star = " *" if row["demonstration"] else ""
        print(f"  {mark}{row['center']:14} {shown}  received {row['received']:5}  closed {row['closed']:5}{star}")
    if lead["centers_meeting_target_ratio"] is not None:
        goal = f" (milestone {lead['goal']:.0%})" if lead["goal"] is not None else ""
        print(
            f"  centers meeting the target: {lead['centers_meeting_target_ratio']:.0%}{goal}   * demonstration center"
        )
