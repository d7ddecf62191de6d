"""What each event says about a case, a referral or a center: the projection's pure half.

Each event type maps to facts about read-model rows (`PROJECTIONS`), each fact column
read from the event by a `Value`. One definition serves two readers: `facts_of(event)`
for the live consumer, and `facts_sql(target)`, the same facts computed by PostgreSQL
from a stored events table, for the bulk replay.

Every fact is merged into its row with a commutative, idempotent rule (the earliest of
two timestamps, the latest deadline, ...; see `readmodel.py`), so the read model is the
same whatever order the events arrive in and however often. A case's outcome and stage
are not told by events at all: the read model derives them from the facts.
"""

import dataclasses
from datetime import date, datetime, time, timedelta

from services.events import (
    CASE_SOURCES,
    LOOK_EVENTS,
    PUBLISHED_EVENTS,
    AgreementDefaulted,
    AgreementPerformed,
    AgreementReached,
    ApplicationReceived,
    ApplicationWithdrawn,
    CaseAccepted,
    CaseNotAccepted,
    ComplaintAnswered,
    ComplaintFiled,
    ConsultationRecorded,
    MediationExpired,
    MediationExtended,
    MediationFailed,
    MediationOpened,
    MediationWithdrawn,
    RecommendationReceived,
    ReferralDeclined,
    ReferralDocketed,
    ReferralOpened,
    ReferralSent,
    ReviewDecided,
    ReviewOutcomeRecorded,
    ReviewRequested,
    SurveyRecorded,
)

# The metrics service consumes every event type of the services a case's figures come from
# (the documents issued count in none of them, nor the looks at a case).
CONSUMED_EVENTS = {
    source: tuple(t for t in types if t not in LOOK_EVENTS)
    for source, types in PUBLISHED_EVENTS.items()
    if source in CASE_SOURCES
}
CONSUMED_TYPES = frozenset(t for types in CONSUMED_EVENTS.values() for t in types)

CASE, REFERRAL, CENTER_FACT = "case", "referral", "center_fact"


@dataclasses.dataclass(frozen=True)
class Fact:
    """Columns of one read-model row (`target` names the table) that an event sets."""

    target: str
    key: str
    columns: dict


# -- how a value is read from an event, in Python and in SQL --------------------------
def _quote(text):
    return "'" + text.replace("'", "''") + "'"


class Value:
    def python(self, event, zone):  # pragma: no cover - abstract
        raise NotImplementedError

    def sql(self):  # pragma: no cover - abstract
        """A text expression over an `events` row (`%(zone)s`: the district's zone)."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Field(Value):
    """A field of the event data."""

    key: str

    def python(self, event, zone):
        return event.data.get(self.key)

    def sql(self):
        return f"(data->>{_quote(self.key)})"


@dataclasses.dataclass(frozen=True)
class Moment(Value):
    """A time in the event data, or when the event occurred if it has none."""

    key: str

    def python(self, event, zone):
        occurred_at = event.occurred_at
        return event.data.get(self.key) or (occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat())

    def sql(self):
        return f"COALESCE(NULLIF(data->>{_quote(self.key)}, ''), occurred_at::text)"


@dataclasses.dataclass(frozen=True)
class Deadline(Value):
    """A deadline as an instant: a bare date lasts until the end of that day, locally."""

    key: str

    def python(self, event, zone):
        value = event.data.get(self.key)
        if not value:
            return None
        if isinstance(value, str) and len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=zone).isoformat()
        return value

    def sql(self):
        raw = f"NULLIF(data->>{_quote(self.key)}, '')"
        return (
            f"CASE WHEN length({raw}) = 10"
            f" THEN ((({raw})::date + 1)::timestamp AT TIME ZONE %(zone)s)::text ELSE {raw} END"
        )


@dataclasses.dataclass(frozen=True)
class Const(Value):
    value: object

    def python(self, event, zone):
        return self.value

    def sql(self):
        return _quote(str(self.value).lower() if isinstance(self.value, bool) else str(self.value))


class CaseId(Value):
    def python(self, event, zone):
        return event.case_id or event.data.get("case_id")

    def sql(self):
        return "COALESCE(case_id, data->>'case_id')"


class CenterId(Value):
    def python(self, event, zone):
        return event.center_id or event.data.get("center_id")

    def sql(self):
        return "COALESCE(center_id, data->>'center_id')"


@dataclasses.dataclass(frozen=True)
class Prefixed(Value):
    """A center fact's key: its kind and the id of what it records."""

    kind: str
    field: str = None  # None: the event's own id

    def python(self, event, zone):
        found = event.data.get(self.field) if self.field else event.event_id
        return f"{self.kind}:{found}" if found else None

    def sql(self):
        found = f"(data->>{_quote(self.field)})" if self.field else "event_id::text"
        return f"({_quote(self.kind + ':')} || {found})"


@dataclasses.dataclass(frozen=True)
class FactRule:
    """An event type's fact about one target row."""

    target: str
    key: Value
    columns: dict

    def fact(self, event, zone):
        key = self.key.python(event, zone)
        if not key:
            return None
        values = {name: value.python(event, zone) for name, value in self.columns.items()}
        values["center_id"] = CenterId().python(event, zone)
        return Fact(self.target, key, {k: v for k, v in values.items() if v is not None})


def case(**columns):
    return FactRule(CASE, CaseId(), columns)


def referral(**columns):
    return FactRule(REFERRAL, Field("referral_id"), {"case_id": CaseId(), **columns})


def center_fact(kind, id_field, at, score=None):
    columns = {"kind": Const(kind), "at": Moment(at)}
    if score:
        columns["score"] = Field(score)
    return FactRule(CENTER_FACT, Prefixed(kind, id_field), columns)


# What intake knows of a case, carried again by the later events.
PROFILE = {name: Field(name) for name in ("category", "workers_involved", "collective", "claimed_total")}

PROJECTIONS = {
    ConsultationRecorded.name: [center_fact("consultation", "consultation_id", "recorded_at")],
    ApplicationReceived.name: [
        case(
            source=Field("source"),
            channel=Field("channel"),
            received_at=Moment("received_at"),
            deadline=Deadline("mediation_deadline"),
            **PROFILE,
        )
    ],
    CaseAccepted.name: [
        case(
            source=Field("source"),
            received_at=Field("received_at"),
            accepted_at=Moment("accepted_at"),
            deadline=Deadline("mediation_deadline"),
            **PROFILE,
        )
    ],
    CaseNotAccepted.name: [case(not_accepted_at=Moment("decided_at"))],
    ApplicationWithdrawn.name: [case(intake_withdrawn_at=Moment("withdrawn_at"))],
    MediationOpened.name: [
        case(
            received_at=Field("received_at"),
            accepted_at=Moment("accepted_at"),
            deadline=Deadline("deadline"),
            **PROFILE,
        )
    ],
    MediationExtended.name: [case(deadline=Deadline("deadline"))],
    AgreementReached.name: [
        case(
            agreement_at=Moment("signed_at"),
            agreed_amount=Field("amount"),
            closure_on_time=Field("on_time"),
            deadline=Deadline("deadline"),
        )
    ],
    MediationFailed.name: [
        case(failed_at=Moment("failed_at"), closure_on_time=Field("on_time"), deadline=Deadline("deadline"))
    ],
    MediationExpired.name: [
        case(expired_at=Moment("expired_at"), closure_on_time=Const(False), deadline=Deadline("deadline"))
    ],
    MediationWithdrawn.name: [case(mediation_withdrawn_at=Moment("withdrawn_at"))],
    ReviewRequested.name: [case(review_requested_at=Moment("requested_at"))],
    ReviewOutcomeRecorded.name: [case(review_decided_at=Moment("decided_at"), review_decision=Field("decision"))],
    AgreementPerformed.name: [case(performed_at=Moment("performed_at"))],
    AgreementDefaulted.name: [case(defaulted_at=Moment("defaulted_at"))],
    SurveyRecorded.name: [center_fact("survey", None, "recorded_at", score="score")],
    ComplaintFiled.name: [center_fact("complaint", "complaint_id", "filed_at")],
    ComplaintAnswered.name: [
        FactRule(CENTER_FACT, Prefixed("complaint", "complaint_id"), {"answered_at": Moment("answered_at")})
    ],
    ReferralOpened.name: [referral(kind=Field("type"), reason=Field("reason"), opened_at=Moment("opened_at"))],
    ReferralSent.name: [
        referral(
            kind=Field("type"),
            first_sent_at=Moment("sent_at"),
            last_sent_at=Moment("sent_at"),
            sends=Field("send_number"),
        )
    ],
    ReferralDocketed.name: [referral(docketed_at=Moment("docketed_at"))],
    ReferralDeclined.name: [referral(declined_at=Moment("declined_at"))],
    ReviewDecided.name: [
        referral(kind=Const("review_request"), decided_at=Moment("decided_at"), decision=Field("decision")),
        case(review_decided_at=Moment("decided_at"), review_decision=Field("decision")),
    ],
    RecommendationReceived.name: [center_fact("recommendation", "recommendation_id", "issued_at")],
}
# Roster, assignment and session events change no indicator: they are consumed (the
# inbox records them) and tell the read model nothing.


def facts_of(event, zone):
    """The facts one event contributes (none for events that change no indicator)."""
    facts = (rule.fact(event, zone) for rule in PROJECTIONS.get(event.event_type, ()))
    return [fact for fact in facts if fact is not None]


def facts_sql(target, columns):
    """A SELECT of `key, <columns...>` (text) for every fact about `target` rows in an
    events table: what `facts_of` computes, by the database. Parameters: `zone`,
    `after`, `upto` (positions) and `types` (event types to leave out)."""
    rules = [(event_type, rule) for event_type, rules in PROJECTIONS.items() for rule in rules if rule.target == target]

    def by_type(pick):
        branches = [
            f"WHEN {_quote(event_type)} THEN {value.sql()}"
            for event_type, rule in rules
            if (value := pick(rule)) is not None
        ]
        return f"CASE event_type {' '.join(branches)} END" if branches else "NULL"

    selected = [by_type(lambda rule: rule.key) + " AS key"]
    for column in columns:
        if column == "center_id":
            selected.append(CenterId().sql())
        else:
            selected.append(by_type(lambda rule, column=column: rule.columns.get(column)))
    types = ", ".join(_quote(event_type) for event_type, _ in rules)
    return (
        f"SELECT * FROM (SELECT {', '.join(selected)} FROM events"
        f" WHERE position > %(after)s AND position <= %(upto)s AND event_type IN ({types})"
        f" AND NOT event_type = ANY(%(python_types)s)) facts WHERE key IS NOT NULL"
    )
