"""The read model's tables and how facts merge into them, in bulk and order-independently.

Each row (a case, a referral, a center fact such as a complaint) is the merge of every
fact events told about it. Each column has one merge rule: `earliest` keeps the smaller
value, `latest` the larger (a deadline only moves later; a flag once true stays true).
Both are commutative, associative and idempotent, so any order of the same events,
with any repeats, leaves the same row. What a case *is* now (its outcome, when it
closed, its open stage) is derived from those facts by generated columns.
"""

import dataclasses

from services.common.envelope import dumps
from services.events import (
    AgreementReached,
    ApplicationWithdrawn,
    CaseNotAccepted,
    MediationExpired,
    MediationFailed,
    MediationWithdrawn,
)

from .projection import CASE, CENTER_FACT, REFERRAL

EARLIEST, LATEST = "earliest", "latest"


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    merge: str

    def aggregate(self, expression):
        if self.sql_type == "boolean":
            function = "bool_and" if self.merge == EARLIEST else "bool_or"
        else:
            function = "min" if self.merge == EARLIEST else "max"
        return f"{function}({expression})"

    def combine(self, left, right):
        return f"{'LEAST' if self.merge == EARLIEST else 'GREATEST'}({left}, {right})"


def _columns(spec):
    return tuple(Column(*entry) for entry in spec)


CASE_COLUMNS = _columns(
    [
        ("center_id", "text", LATEST),
        ("source", "text", LATEST),
        ("channel", "text", LATEST),
        ("category", "text", LATEST),
        ("workers_involved", "integer", LATEST),
        ("collective", "boolean", LATEST),
        ("claimed_total", "numeric(16,2)", LATEST),
        ("received_at", "timestamptz", EARLIEST),
        ("accepted_at", "timestamptz", EARLIEST),
        ("deadline", "timestamptz", LATEST),
        ("not_accepted_at", "timestamptz", EARLIEST),
        ("intake_withdrawn_at", "timestamptz", EARLIEST),
        ("agreement_at", "timestamptz", EARLIEST),
        ("agreed_amount", "numeric(16,2)", LATEST),
        ("failed_at", "timestamptz", EARLIEST),
        ("expired_at", "timestamptz", EARLIEST),
        ("mediation_withdrawn_at", "timestamptz", EARLIEST),
        ("closure_on_time", "boolean", EARLIEST),
        ("review_requested_at", "timestamptz", EARLIEST),
        ("review_decided_at", "timestamptz", EARLIEST),
        ("review_decision", "text", LATEST),
        ("performed_at", "timestamptz", EARLIEST),
        ("defaulted_at", "timestamptz", EARLIEST),
    ]
)

_WITHDRAWN = "(mediation_withdrawn_at IS NOT NULL OR intake_withdrawn_at IS NOT NULL)"
_ENDED_WITHOUT_AGREEMENT = (
    f"(failed_at IS NOT NULL OR expired_at IS NOT NULL OR {_WITHDRAWN} OR not_accepted_at IS NOT NULL)"
)

# A case's outcome: the first of these its facts show (an agreement wins over a later
# withdrawal, and so on), with the closure events that record each. The one ranking:
# the read model's `outcome`, the gauges' labels and `tiaojie status` read it from here.
OUTCOME_RANKING = (
    ("agreement", "agreement_at IS NOT NULL", frozenset({AgreementReached.name})),
    ("failed", "failed_at IS NOT NULL", frozenset({MediationFailed.name})),
    ("expired", "expired_at IS NOT NULL", frozenset({MediationExpired.name})),
    ("withdrawn", _WITHDRAWN, frozenset({MediationWithdrawn.name, ApplicationWithdrawn.name})),
    ("not_accepted", "not_accepted_at IS NOT NULL", frozenset({CaseNotAccepted.name})),
)
OUTCOMES = tuple(outcome for outcome, _, _ in OUTCOME_RANKING)
CLOSURES = tuple((outcome, events) for outcome, _, events in OUTCOME_RANKING)

# The case's state, derived from its facts. An agreement closes the mediation (it counts
# as a success) while its performance keeps the case open; a withdrawal counts in the
# success rate's denominator only after acceptance.
CASE_DERIVED = (
    (
        "outcome",
        "text",
        "CASE"
        + "".join(f"\n        WHEN {condition} THEN '{outcome}'" for outcome, condition, _ in OUTCOME_RANKING)
        + " END",
    ),
    (
        "closed_at",
        "timestamptz",
        f"""CASE
        WHEN agreement_at IS NOT NULL THEN agreement_at
        WHEN failed_at IS NOT NULL THEN failed_at
        WHEN expired_at IS NOT NULL THEN expired_at
        WHEN {_WITHDRAWN} THEN LEAST(mediation_withdrawn_at, intake_withdrawn_at)
        ELSE not_accepted_at END""",
    ),
    (
        "closed_by_mediation",
        "boolean",
        """(agreement_at IS NOT NULL OR failed_at IS NOT NULL
        OR expired_at IS NOT NULL OR mediation_withdrawn_at IS NOT NULL
        OR (intake_withdrawn_at IS NOT NULL AND accepted_at IS NOT NULL))""",
    ),
    (
        "open_stage",
        "text",
        f"""CASE
        WHEN agreement_at IS NOT NULL THEN CASE
            WHEN performed_at IS NOT NULL OR defaulted_at IS NOT NULL THEN NULL
            WHEN review_requested_at IS NOT NULL AND review_decided_at IS NULL THEN 'under_review'
            ELSE 'performing' END
        WHEN {_ENDED_WITHOUT_AGREEMENT} THEN NULL
        WHEN accepted_at IS NOT NULL THEN 'mediating'
        WHEN received_at IS NOT NULL THEN 'received' END""",
    ),
)

REFERRAL_COLUMNS = _columns(
    [
        ("case_id", "text", LATEST),
        ("center_id", "text", LATEST),
        ("kind", "text", LATEST),
        ("reason", "text", LATEST),
        ("opened_at", "timestamptz", EARLIEST),
        ("first_sent_at", "timestamptz", EARLIEST),
        ("last_sent_at", "timestamptz", LATEST),
        ("sends", "integer", LATEST),
        ("docketed_at", "timestamptz", EARLIEST),
        ("declined_at", "timestamptz", EARLIEST),
        ("decided_at", "timestamptz", EARLIEST),
        ("decision", "text", LATEST),
    ]
)

REFERRAL_DERIVED = (
    (
        "pending",
        "boolean",
        "(first_sent_at IS NOT NULL AND docketed_at IS NULL AND declined_at IS NULL AND decided_at IS NULL)",
    ),
)

# Consultations, surveys, complaints and recommendation letters: one row each.
CENTER_FACT_COLUMNS = _columns(
    [
        ("kind", "text", LATEST),
        ("center_id", "text", LATEST),
        ("at", "timestamptz", EARLIEST),
        ("score", "integer", LATEST),
        ("answered_at", "timestamptz", EARLIEST),  # a complaint's answer
    ]
)


@dataclasses.dataclass(frozen=True)
class Table:
    target: str
    name: str
    key: str
    columns: tuple
    derived: tuple = ()

    def create_sql(self):
        lines = [f"{self.key} text PRIMARY KEY"]
        lines += [f"{c.name} {c.sql_type}" for c in self.columns]
        lines += [
            f"{name} {sql_type} GENERATED ALWAYS AS ({expression}) STORED"
            for name, sql_type, expression in self.derived
        ]
        return f"CREATE TABLE {self.name} (\n    " + ",\n    ".join(lines) + "\n)"

    def record_sql(self):
        """The row type of a batch of facts: `key` and every column."""
        return ", ".join(["key text"] + [f"{c.name} {c.sql_type}" for c in self.columns])

    def upsert_sql(self, name=None, source=None):
        """Merges facts into the table (or a copy named `name`).

        The facts come as a JSON array of `{key, <column>...}` (the parameter), or from
        the relation `source` with the same columns. Facts of one key are merged first,
        then with the stored row, each column by its rule.
        """
        name = name or self.name
        source = source or f"jsonb_to_recordset(%s::jsonb) AS b({self.record_sql()})"
        merged = ", ".join(c.aggregate(c.name) + f" AS {c.name}" for c in self.columns)
        names = ", ".join(c.name for c in self.columns)
        updates = ", ".join(f"{c.name} = {c.combine(f't.{c.name}', f'EXCLUDED.{c.name}')}" for c in self.columns)
        return (
            f"WITH merged AS (SELECT key, {merged} FROM {source} GROUP BY key)"
            f" INSERT INTO {name} AS t ({self.key}, {names})"
            f" SELECT key, {names} FROM merged ORDER BY key"
            f" ON CONFLICT ({self.key}) DO UPDATE SET {updates}"
        )


CASES = Table(CASE, "metrics_cases", "case_id", CASE_COLUMNS, CASE_DERIVED)
REFERRALS = Table(REFERRAL, "metrics_referrals", "referral_id", REFERRAL_COLUMNS, REFERRAL_DERIVED)
CENTER_FACTS = Table(CENTER_FACT, "metrics_center_facts", "fact_id", CENTER_FACT_COLUMNS)
TABLES = (CASES, REFERRALS, CENTER_FACTS)
BY_TARGET = {table.target: table for table in TABLES}

# The inbox tables the projection's consumption records live in (common tables).
INBOX_TABLES = ("inbox", "inbox_streams")


def fact_rows(facts):
    """Facts as JSON-ready rows, by target table."""
    rows = {}
    for fact in facts:
        row = dict(fact.columns)
        row["key"] = fact.key
        rows.setdefault(fact.target, []).append(row)
    return rows


def facts_json(facts):
    """Facts as one JSON array per target table (what `merge_json` and staging take)."""
    return {target: dumps(rows) for target, rows in fact_rows(facts).items()}


def merge_json(cursor, target, rows_json, suffix=""):
    cursor.execute(_upsert(BY_TARGET[target], suffix), (rows_json,))


def apply_facts(cursor, facts, suffix=""):
    """Merges facts into the read model (or, with a suffix, into its rebuild tables)."""
    for target, rows_json in facts_json(facts).items():
        merge_json(cursor, target, rows_json, suffix)


_upsert_cache = {}


def _upsert(table, suffix):
    key = (table.name, suffix)
    if key not in _upsert_cache:
        _upsert_cache[key] = table.upsert_sql(table.name + suffix)
    return _upsert_cache[key]


def snapshot(cursor, suffix=""):
    """Every row of the read model, in key order (for reconciliation and tests)."""
    result = {}
    for table in TABLES:
        cursor.execute(f"SELECT * FROM {table.name}{suffix} ORDER BY {table.key}")
        result[table.name] = [dict(row) for row in cursor.fetchall()]
    return result
