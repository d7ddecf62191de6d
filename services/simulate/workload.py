"""The workload as plans: what happens to each case and on which day, drawn from the
district profile with an injected `random.Random`. Pure: no I/O and no clock.

A plan's steps are dated in days after the case was received; the driver turns them
into moments (a back-filled past day, or seconds from now when running live).
"""

import dataclasses
import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from . import identities, profile
from .identities import weighted


@dataclasses.dataclass(frozen=True)
class Step:
    day: float  # days after receipt
    action: str  # accept, reject, withdraw_application, assign, session, extension, agreement,
    # failure, review_request, performance, survey, complaint, answer_complaint
    body: dict


@dataclasses.dataclass(frozen=True)
class CasePlan:
    key: str
    center_id: str
    received_at: datetime | None  # None when the case arrives live, "now"
    application: dict  # the POST /api/v1/cases body, without received_at
    outcome: str  # agreement, failed, expired, withdrawn, not_accepted, withdrawn_before
    steps: tuple
    mediator: int  # preference among the center's mediators valid on the day


@dataclasses.dataclass(frozen=True)
class ConsultationPlan:
    key: str
    center_id: str
    at: datetime | None
    body: dict


@dataclasses.dataclass(frozen=True)
class MediatorPlan:
    center_id: str
    index: int
    body: dict  # the POST /api/v1/mediators body


def _between(rng, bounds):
    low, high = bounds
    return rng.uniform(low, high)


def _amount(rng, low, high):
    # Claims are mostly whole yuan; some carry jiao and fen from a payslip.
    value = Decimal(rng.randint(low, high))
    if rng.random() < 0.3:
        value += Decimal(rng.randrange(0, 100)) / 100
    return profile.money(value)


class DistrictWorkload:
    def __init__(self, centers, seed=0, timezone="Asia/Shanghai"):
        self.centers = list(centers)
        self.seed = seed
        self.rng = random.Random(f"tiaojie-simulate:{seed}")
        self.zone = ZoneInfo(timezone)
        self._cases = 0
        self._consultations = 0

    # -- the roster ---------------------------------------------------------------------
    def mediators(self, today):
        """Each center's roster on `today`: the first full-time with a long certificate,
        a few certificates running out within weeks."""
        plans = []
        for center in self.centers:
            rng = random.Random(f"tiaojie-simulate:{self.seed}:roster:{center.center_id}")
            for index in range(profile.center_profile(center.center_id).mediators):
                if index > 0 and rng.random() < profile.EXPIRING_CERTIFICATE_SHARE:
                    expires = today + timedelta(days=rng.randint(*profile.EXPIRING_WITHIN_DAYS))
                else:
                    years = profile.CERTIFICATE_YEARS[1] if index == 0 else rng.randint(*profile.CERTIFICATE_YEARS)
                    expires = today + timedelta(days=365 * years - rng.randrange(0, 200))
                plans.append(
                    MediatorPlan(
                        center.center_id,
                        index,
                        {
                            "center_id": center.center_id,
                            "name": identities.person_name(rng),
                            "certificate_no": identities.certificate_no(rng, center.code, today.year),
                            "certificate_expires": expires.isoformat(),
                            "full_time": index == 0 or rng.random() < 0.3,
                        },
                    )
                )
        return plans

    # -- cases ----------------------------------------------------------------------------
    def pick_center(self):
        return weighted(self.rng, [(c, profile.center_profile(c.center_id).monthly_cases) for c in self.centers])

    def case(self, center, received_at=None, today=None):
        """One case received at `received_at` (a live case: None, received `today`)."""
        rng = self.rng
        self._cases += 1
        key = f"s{self.seed}-c{self._cases}"
        on = received_at.astimezone(self.zone).date() if received_at else today
        application = self._application(center, on)
        steps, outcome = self._life(center, application)
        return CasePlan(
            key, center.center_id, received_at, application, outcome, tuple(steps), mediator=rng.randrange(0, 1000)
        )

    def _application(self, center, on):
        rng = self.rng
        category = weighted(rng, profile.CATEGORIES)
        if rng.random() < profile.COLLECTIVE_SHARE:
            workers = rng.randint(*profile.COLLECTIVE_WORKERS)
        elif rng.random() < profile.SMALL_GROUP_SHARE:
            workers = rng.randint(2, 9)
        else:
            workers = 1
        items = profile.CLAIM_ITEMS[category]
        chosen = items[: rng.randint(1, len(items))]
        claims = []
        for item, low, high in chosen:
            amount = sum((_amount(rng, low, high) for _ in range(min(workers, 12))), Decimal("0"))
            if workers > 12:
                amount = profile.money(amount * workers / 12)
            label = item if workers == 1 else f"{workers}名劳动者{item}"
            claims.append({"item": label, "amount": format(profile.money(amount), "f")})
        return {
            "center_id": center.center_id,
            "channel": weighted(rng, profile.CHANNELS),
            "source": weighted(rng, profile.SOURCES),
            "category": category,
            "applicant": identities.worker(rng, on),
            "respondent": identities.employer(rng),
            "claims": claims,
            "workers_involved": workers,
            "description": profile.DESCRIPTIONS[category],
        }

    def _life(self, center, application):
        """The steps of one case and how it ends."""
        rng = self.rng
        accept_day = _between(rng, profile.ACCEPTANCE_DAYS)
        if rng.random() < profile.WITHDRAWN_BEFORE_ACCEPTANCE_SHARE:
            return [
                Step(accept_day / 2, "withdraw_application", {"reason": rng.choice(profile.WITHDRAWAL_REASONS)})
            ], "withdrawn_before"
        if rng.random() < profile.NOT_ACCEPTED_SHARE:
            return [
                Step(accept_day, "reject", {"decision": "reject", "reason": rng.choice(profile.NOT_ACCEPTED_REASONS)})
            ], "not_accepted"
        steps = [Step(accept_day, "accept", {"decision": "accept"}), Step(accept_day + 0.01, "assign", {})]
        rate = profile.center_profile(center.center_id).agreement_rate
        outcome = "agreement" if rng.random() < rate else weighted(rng, profile.NON_AGREEMENT_OUTCOMES)
        closure = max(_between(rng, profile.CLOSURE_DAYS), accept_day + 0.5)
        extension = 0
        if outcome in ("agreement", "failed") and rng.random() < profile.EXTENSION_SHARE:
            extension = rng.randint(*profile.EXTENSION_DAYS)
            steps.append(Step(min(closure, 12.0), "extension", {"days": extension, "parties_consent": True}))
            closure += rng.uniform(0, extension - 1)
        first = min(accept_day + _between(rng, profile.FIRST_SESSION_DAYS), closure - 0.2)
        sessions = weighted(rng, profile.SESSION_COUNT)
        for n in range(sessions if outcome != "expired" else max(1, sessions - 1)):
            day = first + (closure - first) * n / sessions
            steps.append(
                Step(
                    max(day, accept_day + 0.02),
                    "session",
                    {"summary": f"第{n + 1}次调解：听取双方陈述，释明法律规定。"},
                )
            )
        claimed = sum(Decimal(c["amount"]) for c in application["claims"])
        if outcome == "agreement":
            share = Decimal(str(round(rng.uniform(*profile.AGREEMENT_SHARE_OF_CLAIM), 2)))
            amount = profile.money(claimed * share)
            due_days = rng.randint(*profile.PERFORMANCE_DAYS)
            steps.append(
                Step(
                    closure,
                    "agreement",
                    {
                        "terms": f"被申请人于{due_days}日内一次性支付申请人人民币{amount}元，双方再无其他争议。",
                        "amount": format(amount, "f"),
                        "performance_due_days": due_days,
                    },
                )
            )
            after = closure
            if rng.random() < profile.REVIEW_REQUEST_SHARE:
                review_day = closure + rng.uniform(1, 10)
                steps.append(Step(review_day, "review_request", {}))
                after = review_day + 2  # the institute decides in between
            if rng.random() < profile.PERFORMED_SHARE:
                steps.append(
                    Step(max(after + 0.5, closure + rng.uniform(1, due_days)), "performance", {"performed": True})
                )
            elif rng.random() < profile.DEFAULT_REPORTED_SHARE:
                steps.append(
                    Step(max(after + 0.5, closure + due_days + rng.uniform(1, 5)), "performance", {"performed": False})
                )
        elif outcome == "failed":
            reason, reason_code = rng.choice(profile.FAILURE_REASONS)
            steps.append(Step(closure, "failure", {"reason": reason, "reason_code": reason_code}))
        elif outcome == "withdrawn":
            steps.append(Step(closure, "withdraw_application", {"reason": rng.choice(profile.WITHDRAWAL_REASONS)}))
        if outcome != "expired" and rng.random() < profile.SURVEY_SHARE:
            body = {"score": weighted(rng, profile.SURVEY_SCORES)}
            if body["score"] <= 2:
                body["comment"] = "希望提高调解效率"
            steps.append(Step(closure + rng.uniform(0.2, 3), "survey", body))
        if rng.random() < profile.COMPLAINT_SHARE:
            filed = rng.uniform(accept_day + 0.1, closure + 2)
            steps.append(Step(filed, "complaint", {"text": rng.choice(profile.COMPLAINT_TEXTS)}))
            if rng.random() < profile.COMPLAINT_ANSWERED_SHARE:
                answered = filed + _between(rng, profile.COMPLAINT_ANSWER_DAYS)
                steps.append(Step(answered, "answer_complaint", {"answer": rng.choice(profile.COMPLAINT_ANSWERS)}))
        return sorted(steps, key=lambda s: s.day), outcome

    # -- consultations --------------------------------------------------------------------
    def consultation(self, center, at=None):
        rng = self.rng
        self._consultations += 1
        return ConsultationPlan(
            f"s{self.seed}-q{self._consultations}",
            center.center_id,
            at,
            {
                "center_id": center.center_id,
                "channel": weighted(rng, profile.CONSULTATION_CHANNELS),
                "topic": rng.choice(profile.CONSULTATION_TOPICS),
            },
        )

    # -- a past period --------------------------------------------------------------------
    def _moments(self, start, end, count):
        """`count` moments in [start, end): working hours, fewer at weekends."""
        days = []
        day = start.astimezone(self.zone).date()
        while datetime.combine(day, time(0), self.zone) < end:
            days.append((day, profile.WEEKEND_WEIGHT if day.weekday() >= 5 else 1.0))
            day += timedelta(days=1)
        moments = []
        while len(moments) < count and days:
            day = weighted(self.rng, days)
            hour = self.rng.uniform(*profile.WORKING_HOURS)
            moment = datetime.combine(day, time(0), self.zone) + timedelta(hours=hour)
            if start <= moment < end:
                moments.append(moment)
        return sorted(moments)

    def _count(self, monthly, start, end):
        expected = monthly * (end - start).total_seconds() / (30.44 * 86400)
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def backfill(self, start, end):
        """The cases and consultations received in [start, end), in order of receipt."""
        cases, consultations = [], []
        for center in self.centers:
            monthly = profile.center_profile(center.center_id).monthly_cases
            for at in self._moments(start, end, self._count(monthly, start, end)):
                cases.append(self.case(center, at))
            for at in self._moments(start, end, self._count(monthly * profile.CONSULTATIONS_PER_CASE, start, end)):
                consultations.append(self.consultation(center, at))
        cases.sort(key=lambda c: c.received_at)
        consultations.sort(key=lambda c: c.at)
        return cases, consultations
