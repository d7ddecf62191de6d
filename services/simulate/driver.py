"""Carries the plans out against the running services: a past period day by day, then live.

Back-filling moves the services' shared clock (`TIAOJIE_CLOCK_FILE`) to the end of each
simulated day before that day's steps run, so every deadline, expiry and default happens
by the services' own rules, as it would have. Live, a simulated day lasts `day_seconds`.
"""

import collections
import dataclasses
import logging
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import eventlet

from services.common.clock import FileOffsetClock

from . import profile
from .client import ApiRefused, ApiUnavailable

log = logging.getLogger(__name__)

MEDIATION_STEPS = {
    "assign",
    "session",
    "extension",
    "agreement",
    "failure",
    "review_request",
    "performance",
    "survey",
    "complaint",
    "answer_complaint",
}


@dataclasses.dataclass
class Tokens:
    centers: dict  # center_id -> staff token
    district: str  # reads across centers

    def staff(self, center_id):
        return self.centers[center_id]


class Tally:
    """What happened, per action: done, refused (4xx) or failed (unavailable)."""

    def __init__(self):
        self.counts = collections.Counter()
        self.outcomes = collections.Counter()

    def add(self, action, result):
        self.counts[(action, result)] += 1

    def summary(self):
        actions = sorted({a for a, _ in self.counts})
        return {a: {r: n for (b, r), n in self.counts.items() if b == a} for a in actions}


@dataclasses.dataclass
class CaseRun:
    plan: object
    case_id: str | None = None
    in_mediation: bool = False
    broken: bool = False
    mediator_assigned: bool = False  # sessions are held only once a mediator is assigned
    complaint_id: str | None = None  # the case's complaint, once filed


class District:
    """The district's staff at work: each plan step becomes one API call."""

    def __init__(
        self, intake, mediation, tokens, clock, timezone="Asia/Shanghai", run_id=None, visibility_timeout=20.0
    ):
        self.intake = intake
        self.mediation = mediation
        self.tokens = tokens
        self.clock = clock
        self.zone = ZoneInfo(timezone)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.visibility_timeout = visibility_timeout
        self.roster = collections.defaultdict(list)  # center_id -> [(mediator_id, certificate_expires)]
        self.tally = Tally()
        self.stopping = False

    def _key(self, *parts):
        return ":".join([self.run_id, *map(str, parts)])

    # -- the roster -----------------------------------------------------------------------
    def register_roster(self, plans):
        """Registers the planned mediators, reusing those already on a center's roster."""
        by_center = collections.defaultdict(list)
        for plan in plans:
            by_center[plan.center_id].append(plan)
        for center_id, center_plans in by_center.items():
            token = self.tokens.staff(center_id)
            listed = self.mediation.get(f"/api/v1/mediators?center_id={center_id}", token)
            if isinstance(listed, dict):
                listed = next((v for v in listed.values() if isinstance(v, list)), [])
            known = {m.get("certificate_no"): m for m in listed}
            for plan in center_plans:
                mediator = known.get(plan.body["certificate_no"])
                if mediator is None:
                    mediator = self.mediation.post(
                        "/api/v1/mediators", token, plan.body, self._key("mediator", center_id, plan.index)
                    )
                    self.tally.add("register_mediator", "done")
                expires = mediator.get("certificate_expires") or plan.body["certificate_expires"]
                self.roster[center_id].append((mediator["mediator_id"], datetime.fromisoformat(expires).date()))

    def mediator_for(self, center_id, preference, on):
        valid = [m for m, expires in self.roster[center_id] if expires >= on]
        return valid[preference % len(valid)] if valid else None

    # -- one action -------------------------------------------------------------------------
    def consult(self, plan):
        self._attempt(
            "consultation",
            lambda: self.intake.post(
                "/api/v1/consultations", self.tokens.staff(plan.center_id), plan.body, self._key(plan.key)
            ),
        )

    def receive(self, run, at=None):
        body = dict(run.plan.application)
        if at is not None:
            body["received_at"] = at.isoformat()
        created = self._attempt(
            "application",
            lambda: self.intake.post(
                "/api/v1/cases", self.tokens.staff(run.plan.center_id), body, self._key(run.plan.key, "received")
            ),
        )
        if created is None:
            run.broken = True
        else:
            run.case_id = created["case_id"]

    def perform(self, run, index, step, at=None):
        """One step of a case; `at` is the simulated moment when back-filling, None live."""
        if run.broken or run.case_id is None or self.stopping:
            return
        if step.action in MEDIATION_STEPS and not run.in_mediation and not self._await_mediation(run):
            self.tally.add(step.action, "failed")
            run.broken = True
            return
        token = self.tokens.staff(run.plan.center_id)
        key = self._key(run.plan.key, index)
        moment = at or self.clock.now()
        case_path = f"/api/v1/cases/{run.case_id}"
        # Back-filling runs a day's steps at its end: each says when it happened (occurred_at),
        # as staff keying in the day's paper would; live, it happens now.
        dated = {**step.body, "occurred_at": at.isoformat()} if at is not None else step.body
        if step.action in ("accept", "reject"):
            call = lambda: self.intake.post(case_path + "/acceptance", token, dated, key)  # noqa: E731
        elif step.action == "withdraw_application":
            call = lambda: self.intake.post(case_path + "/withdrawal", token, dated, key)  # noqa: E731
        elif step.action == "assign":
            mediator_id = self.mediator_for(run.plan.center_id, run.plan.mediator, moment.astimezone(self.zone).date())
            if mediator_id is None:
                self.tally.add("assign", "no_mediator")
                return
            body = {**dated, "mediator_id": mediator_id}
            call = lambda: self.mediation.post(case_path + "/assignment", token, body, key)  # noqa: E731
        elif step.action == "session":
            if not run.mediator_assigned:  # mediation refuses a session without one (409)
                self.tally.add("session", "no_mediator")
                return
            body = {"held_at": moment.isoformat(), **step.body}  # held_at is a session's occurred_at
            call = lambda: self.mediation.post(case_path + "/sessions", token, body, key)  # noqa: E731
        elif step.action == "agreement":
            due = moment.astimezone(self.zone).date() + timedelta(days=step.body["performance_due_days"])
            body = {"terms": step.body["terms"], "amount": step.body["amount"], "performance_due": due.isoformat()}
            if at is not None:
                body["occurred_at"] = at.isoformat()
            call = lambda: self.mediation.post(case_path + "/agreement", token, body, key)  # noqa: E731
        elif step.action == "complaint":
            body = {"center_id": run.plan.center_id, "case_id": run.case_id, **step.body}
            call = lambda: self.mediation.post("/api/v1/complaints", token, body, key)  # noqa: E731
        elif step.action == "answer_complaint":
            if run.complaint_id is None:  # its filing was refused or failed
                self.tally.add(step.action, "no_complaint")
                return
            # the center's token answers as the head would (a head person in the console)
            path = f"/api/v1/complaints/{run.complaint_id}/answer"
            call = lambda: self.mediation.post(path, token, step.body, key)  # noqa: E731
        else:
            path = {
                "extension": "/extension",
                "failure": "/failure",
                "review_request": "/review-request",
                "performance": "/performance",
                "survey": "/survey",
            }[step.action]
            call = lambda: self.mediation.post(case_path + path, token, dated, key)  # noqa: E731
        result = self._attempt(step.action, call)
        if result is None and step.action in ("accept", "assign"):
            run.broken = True
        elif step.action == "assign":
            run.mediator_assigned = True
        elif step.action == "complaint" and result:
            run.complaint_id = result.get("complaint_id")
        elif step.action == "accept":
            self.tally.outcomes["accepted"] += 1

    def _attempt(self, action, call):
        try:
            result = call()
        except ApiRefused as exc:
            # A refusal is part of a realistic day (a survey before the closure reached
            # mediation, a default reported twice); it is counted, not fatal.
            self.tally.add(action, f"refused_{exc.status}")
            log.debug("%s refused: %s", action, exc)
            return None
        except ApiUnavailable as exc:
            self.tally.add(action, "failed")
            log.warning("%s failed: %s", action, exc)
            return None
        self.tally.add(action, "done")
        return result if result is not None else {}

    def _await_mediation(self, run):
        """Mediation learns of an accepted case from intake's event: wait for it."""
        deadline = time.monotonic() + self.visibility_timeout
        token = self.tokens.staff(run.plan.center_id)
        while time.monotonic() < deadline:
            try:
                self.mediation.get(f"/api/v1/cases/{run.case_id}", token)
                run.in_mediation = True
                return True
            except ApiRefused as exc:
                if exc.status != 404:
                    return False
            except ApiUnavailable:
                return False
            time.sleep(0.1)
        return False


def _day_end(day, zone):
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), zone) - timedelta(seconds=60)


def backfill(district, cases, consultations, start, end, clock_file=None, concurrency=16, on_day=None):
    """Runs every step dated in [start, end), one simulated day at a time, in order.

    Returns the case runs with steps still to come after `end`, each as
    `(run, [(index, step, days after end), ...])`.
    """
    zone = district.zone
    agenda = collections.defaultdict(lambda: collections.defaultdict(list))  # day -> run -> [(index, step, at)]
    later = collections.defaultdict(list)
    runs = []
    for plan in cases:
        run = CaseRun(plan)
        runs.append(run)
        moments = [("received", None, plan.received_at)]
        moments += [(i, step, plan.received_at + timedelta(days=step.day)) for i, step in enumerate(plan.steps)]
        for index, step, at in moments:
            if at < end:
                agenda[at.astimezone(zone).date()][id(run)].append((run, index, step, at))
            else:
                later[id(run)].append((index, step, (at - end).total_seconds() / 86400))
    for plan in consultations:
        agenda[plan.at.astimezone(zone).date()][("q", plan.key)].append((plan, "consultation", None, plan.at))
    pool = eventlet.GreenPool(concurrency)
    day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    try:
        while day <= last_day and not district.stopping:
            _simulate_day(district, agenda.pop(day, {}), day, end, clock_file, pool)
            if on_day:
                on_day(day)
            day += timedelta(days=1)
    finally:
        if clock_file:
            FileOffsetClock.move(clock_file, 0)
    return [(run, later[id(run)]) for run in runs if later.get(id(run)) and not run.broken]


def _simulate_day(district, items_by_case, day, end, clock_file, pool):
    """One simulated day: the clock moves to its end, then every case does that day's steps."""
    if clock_file:
        target = min(_day_end(day, district.zone), end)
        FileOffsetClock.move(clock_file, (target - district.clock.now()).total_seconds())
    for items in items_by_case.values():
        pool.spawn_n(_run_items, district, items)
    pool.waitall()


def _run_items(district, items):
    for subject, index, step, at in items:
        if district.stopping:
            return
        if index == "consultation":
            district.consult(subject)
        elif index == "received":
            district.receive(subject, at)
        else:
            district.perform(subject, index, step, at)


def live(district, workload, rate_per_minute, day_seconds, until, pending=(), max_cases=None, sleep=eventlet.sleep):
    """New cases at `rate_per_minute`, each living through its steps with a day lasting
    `day_seconds`; `pending` are back-filled cases whose later steps still come. New cases
    stop at `until()` or after `max_cases`; the cases in flight then run to their end
    unless `district.stopping` is set."""
    pool = eventlet.GreenPool(1000)
    started = time.monotonic()
    for run, steps in pending:
        pool.spawn_n(_live_case, district, run, steps, day_seconds, sleep, False)
    count = 0
    interval = 60.0 / rate_per_minute if rate_per_minute > 0 else None
    consult_interval = interval / profile.CONSULTATIONS_PER_CASE if interval else None
    next_case, next_consult = started, started
    while interval and not until() and (max_cases is None or count < max_cases):
        now = time.monotonic()
        if now >= next_consult:
            center = workload.pick_center()
            pool.spawn_n(district.consult, workload.consultation(center))
            next_consult += consult_interval
        if now >= next_case:
            center = workload.pick_center()
            plan = workload.case(center, today=district.clock.now().astimezone(district.zone).date())
            steps = [(i, s, s.day) for i, s in enumerate(plan.steps)]
            pool.spawn_n(_live_case, district, CaseRun(plan), steps, day_seconds, sleep, True)
            count += 1
            next_case += interval
        sleep(max(0.0, min(next_case, next_consult) - time.monotonic()))
    pool.waitall()
    return count


def _live_case(district, run, steps, day_seconds, sleep, receive):
    begun = time.monotonic()
    if receive:
        district.receive(run)
    for index, step, day in steps:
        while not district.stopping and time.monotonic() < begun + day * day_seconds:
            sleep(min(1.0, begun + day * day_seconds - time.monotonic()))
        if run.broken or district.stopping:
            return
        district.perform(run, index, step)
