"""The work-evaluation report (工作考评): per center and period, from the read model.

`center_report` is the one computation; the JSON and CSV endpoints (and any page that
shows the report) only format its rows.
"""

import csv
import io
from decimal import Decimal

from services.common.envelope import dumps

from .indicators import BASIS, COHORT_OUTCOMES, COHORTS, share_of_centers, success_counts, success_rate

ACCEPTANCE_WORKING_DAYS = 3  # the 2011 enterprise mediation rule, a service standard of the centers

REPORT_FIELDS = (
    "center_id",
    "center_name",
    "period",
    "consultations",
    "received",
    "accepted",
    "closed_agreement",
    "closed_failed",
    "closed_expired",
    "closed_withdrawn",
    "closed_not_accepted",
    "withdrawn_before_acceptance",
    "closed_by_mediation",
    "success_rate",
    "success_rate_basis",
    "success_rate_closed",
    *(
        f"cohort_{cohort}{suffix}"
        for cohort in COHORTS
        for suffix in ("", *(f"_{outcome}" for outcome in COHORT_OUTCOMES), "_rate")
    ),
    "acceptance_decisions_due",
    "accepted_within_3_working_days",
    "undecided_past_3_working_days",
    "acceptance_within_3_working_days_rate",
    "on_time_closure_rate",
    "agreements_performed",
    "agreements_defaulted",
    "agreement_performance_rate",
    "reviews_requested",
    "reviews_confirmed",
    "amount_agreed",
    "collective_cases",
    "collective_workers",
    "surveys",
    "mean_satisfaction",
    "complaints",
    "complaints_open",
    "complaints_answered",
    "complaints_mean_days_to_answer",
    "recommendations",
)

_CASE_COUNTS = """
SELECT center_id,
  count(*) FILTER (WHERE received_at >= %(start)s AND received_at < %(end)s) AS received,
  count(*) FILTER (WHERE accepted_at >= %(start)s AND accepted_at < %(end)s) AS accepted,
  count(*) FILTER (WHERE in_period AND outcome = 'agreement') AS closed_agreement,
  count(*) FILTER (WHERE in_period AND outcome = 'failed') AS closed_failed,
  count(*) FILTER (WHERE in_period AND outcome = 'expired') AS closed_expired,
  count(*) FILTER (WHERE in_period AND outcome = 'withdrawn' AND closed_by_mediation) AS closed_withdrawn,
  count(*) FILTER (WHERE in_period AND outcome = 'withdrawn' AND NOT closed_by_mediation)
    AS withdrawn_before_acceptance,
  count(*) FILTER (WHERE in_period AND outcome = 'not_accepted') AS closed_not_accepted,
  count(*) FILTER (WHERE in_period AND closed_by_mediation) AS closed_by_mediation,
  count(*) FILTER (WHERE in_period AND closed_by_mediation
                   AND COALESCE(closure_on_time, closed_at <= deadline, false)) AS closed_on_time,
  count(*) FILTER (WHERE performed_at >= %(start)s AND performed_at < %(end)s) AS agreements_performed,
  count(*) FILTER (WHERE performed_at IS NULL
                   AND defaulted_at >= %(start)s AND defaulted_at < %(end)s) AS agreements_defaulted,
  count(*) FILTER (WHERE review_requested_at >= %(start)s AND review_requested_at < %(end)s) AS reviews_requested,
  count(*) FILTER (WHERE review_decision = 'confirmed'
                   AND review_decided_at >= %(start)s AND review_decided_at < %(end)s) AS reviews_confirmed,
  COALESCE(sum(agreed_amount) FILTER (WHERE in_period AND outcome = 'agreement'), 0) AS amount_agreed,
  count(*) FILTER (WHERE collective AND received_at >= %(start)s AND received_at < %(end)s) AS collective_cases,
  COALESCE(sum(workers_involved) FILTER (WHERE collective
                   AND received_at >= %(start)s AND received_at < %(end)s), 0) AS collective_workers
FROM (SELECT *, closed_at >= %(start)s AND closed_at < %(end)s AS in_period FROM metrics_cases) c
GROUP BY center_id
"""

# Complaints filed in the period, as they stood at its end: one answered after the period
# is counted open in it, so an ended period's figures stay what they were (no correction).
_COMPLAINT_ANSWERED = "COALESCE(answered_at < %(end)s, false)"
_DAYS_TO_ANSWER = "extract(epoch FROM answered_at - at) / 86400"

_CENTER_FACT_COUNTS = f"""
SELECT center_id,
  count(*) FILTER (WHERE kind = 'consultation') AS consultations,
  count(*) FILTER (WHERE kind = 'survey') AS surveys,
  avg(score) FILTER (WHERE kind = 'survey') AS mean_satisfaction,
  count(*) FILTER (WHERE kind = 'complaint') AS complaints,
  count(*) FILTER (WHERE kind = 'complaint' AND NOT {_COMPLAINT_ANSWERED}) AS complaints_open,
  count(*) FILTER (WHERE kind = 'complaint' AND {_COMPLAINT_ANSWERED}) AS complaints_answered,
  sum({_DAYS_TO_ANSWER}) FILTER (WHERE kind = 'complaint' AND {_COMPLAINT_ANSWERED}) AS complaint_days_to_answer,
  count(*) FILTER (WHERE kind = 'recommendation') AS recommendations
FROM metrics_center_facts WHERE at >= %(start)s AND at < %(end)s
GROUP BY center_id
"""

_COMPLAINT_TOTALS = f"""
SELECT count(*) AS filed,
  count(*) FILTER (WHERE NOT {_COMPLAINT_ANSWERED}) AS open,
  count(*) FILTER (WHERE {_COMPLAINT_ANSWERED}) AS answered,
  sum({_DAYS_TO_ANSWER}) FILTER (WHERE {_COMPLAINT_ANSWERED}) AS days_to_answer
FROM metrics_center_facts
WHERE kind = 'complaint' AND at >= %(start)s AND at < %(end)s AND center_id = ANY(%(centers)s)
"""


def complaint_totals(cursor, centers, settings, year, month=None):
    """The complaints of all `centers` together (the district's line of the report): filed in
    the period, open and answered at its end, and the mean days to answer."""
    start, end = settings.period_bounds(year, month)
    cursor.execute(_COMPLAINT_TOTALS, {"start": start, "end": end, "centers": [c.center_id for c in centers]})
    row = cursor.fetchone()
    return {
        "filed": int(row["filed"]),
        "open": int(row["open"]),
        "answered": int(row["answered"]),
        "mean_days_to_answer": _mean_days(row["days_to_answer"], int(row["answered"])),
    }


def _ratio(numerator, denominator):
    return round(numerator / denominator, 4) if denominator else None


def _mean_days(total_days, answered):
    """The mean days from filing to answer, to a tenth of a day (None with nothing answered)."""
    return round(float(total_days) / answered, 1) if answered and total_days is not None else None


def _rounded(rate):
    return round(rate, 4) if rate is not None else None


def _cohorts(counts):
    """The cohort columns: each cohort's size, its cases by outcome (adding up to the size), its rate."""
    columns = {}
    for cohort in COHORTS:
        columns[f"cohort_{cohort}"] = counts.get(f"cohort_{cohort}", 0)
        for outcome in COHORT_OUTCOMES:
            columns[f"cohort_{cohort}_{outcome}"] = counts.get(f"cohort_{cohort}_{outcome}", 0)
        columns[f"cohort_{cohort}_rate"] = _rounded(success_rate(counts, cohort))
    return columns


def period_summary(rows, centers, settings, year):
    """How the centers stand against the plan's milestone of `year`, from the report's rows.

    Centers without data (nothing closed by mediation on the rate's basis) count against
    the share: the plan counts centers."""
    milestone = settings.milestone_for(year)
    counted = settings.counted_centers(centers, year)
    rates = {r["center_id"]: r["success_rate"] for r in rows if r["success_rate"] is not None}
    summary = share_of_centers(rates, counted, settings.target)
    summary["share"] = _rounded(summary["share"])
    summary["milestone"] = (
        {
            "year": milestone.year,
            "share": milestone.share,
            "centers": [c.center_id for c in counted],
            "text": milestone.text,
        }
        if milestone
        else None
    )
    summary["success_rate_basis"] = BASIS[settings.denominator]
    return summary


_DECISIONS = """
SELECT center_id, received_at, LEAST(accepted_at, not_accepted_at) AS decided_at, intake_withdrawn_at
FROM metrics_cases WHERE received_at >= %(start)s AND received_at < %(end)s
"""


def acceptance_timeliness(cursor, start, end, calendar, now):
    """Per center: of the applications received in [start, end), how many were decided
    (accepted or not) within 3 working days of receipt, counted on the district calendar.

    An application counts once its decision is made or its 3 working days are over; one
    withdrawn before a decision does not count."""
    cursor.execute(_DECISIONS, {"start": start, "end": end})
    found = {}
    for row in cursor.fetchall():
        due = calendar.ends_at(calendar.working_period_end(row["received_at"], ACCEPTANCE_WORKING_DAYS))
        decided, withdrawn = row["decided_at"], row["intake_withdrawn_at"]
        if decided is None and (withdrawn is not None or now < due):
            continue
        counts = found.setdefault(row["center_id"], {"due": 0, "in_time": 0, "undecided": 0})
        counts["due"] += 1
        if decided is None:
            counts["undecided"] += 1
        elif decided < due:
            counts["in_time"] += 1
    return found


def center_report(cursor, centers, settings, year, month=None, calendar=None, now=None):
    """One row per center (in the given order) for a calendar year or month.

    `calendar` (the district's) and `now` measure acceptance within 3 working days."""
    start, end = settings.period_bounds(year, month)
    cursor.execute(_CASE_COUNTS, {"start": start, "end": end})
    cases = {r["center_id"]: r for r in cursor.fetchall()}
    success = success_counts(cursor, start, end)
    timeliness = acceptance_timeliness(cursor, start, end, calendar, now) if calendar and now else {}
    cursor.execute(_CENTER_FACT_COUNTS, {"start": start, "end": end})
    facts = {r["center_id"]: r for r in cursor.fetchall()}
    period = f"{year:04d}-{month:02d}" if month else f"{year:04d}"
    rows = []
    for center in centers:
        c = cases.get(center.center_id, {})
        f = facts.get(center.center_id, {})
        count = lambda source, key: int(source.get(key) or 0)  # noqa: E731
        closed = count(c, "closed_by_mediation")
        counts = success.get(center.center_id, {})
        rate = success_rate(counts, settings.denominator)
        timely = timeliness.get(center.center_id, {})
        performed, defaulted = count(c, "agreements_performed"), count(c, "agreements_defaulted")
        mean = f.get("mean_satisfaction")
        rows.append(
            {
                "center_id": center.center_id,
                "center_name": center.name,
                "period": period,
                "consultations": count(f, "consultations"),
                "received": count(c, "received"),
                "accepted": count(c, "accepted"),
                **{
                    key: count(c, key)
                    for key in (
                        "closed_agreement",
                        "closed_failed",
                        "closed_expired",
                        "closed_withdrawn",
                        "closed_not_accepted",
                        "withdrawn_before_acceptance",
                    )
                },
                "closed_by_mediation": closed,
                "success_rate": _rounded(rate),
                "success_rate_basis": BASIS[settings.denominator],
                "success_rate_closed": _rounded(success_rate(counts, "closed")),
                **_cohorts(counts),
                "acceptance_decisions_due": timely.get("due", 0),
                "accepted_within_3_working_days": timely.get("in_time", 0),
                "undecided_past_3_working_days": timely.get("undecided", 0),
                "acceptance_within_3_working_days_rate": _ratio(timely.get("in_time", 0), timely.get("due", 0)),
                "on_time_closure_rate": _ratio(count(c, "closed_on_time"), closed),
                "agreements_performed": performed,
                "agreements_defaulted": defaulted,
                "agreement_performance_rate": _ratio(performed, performed + defaulted),
                "reviews_requested": count(c, "reviews_requested"),
                "reviews_confirmed": count(c, "reviews_confirmed"),
                "amount_agreed": format(Decimal(c.get("amount_agreed") or 0).quantize(Decimal("0.01")), "f"),
                "collective_cases": count(c, "collective_cases"),
                "collective_workers": count(c, "collective_workers"),
                "surveys": count(f, "surveys"),
                "mean_satisfaction": round(float(mean), 2) if mean is not None else None,
                "complaints": count(f, "complaints"),
                "complaints_open": count(f, "complaints_open"),
                "complaints_answered": count(f, "complaints_answered"),
                "complaints_mean_days_to_answer": _mean_days(
                    f.get("complaint_days_to_answer"), count(f, "complaints_answered")
                ),
                "recommendations": count(f, "recommendations"),
            }
        )
    return rows


def report_csv(rows):
    """The rows as CSV with a header line (empty cells where a rate has no cases)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=(*REPORT_FIELDS, "changed_since_first_produced"), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        cells = {k: "" if row[k] is None else row[k] for k in REPORT_FIELDS}
        writer.writerow({**cells, "changed_since_first_produced": corrections_text(row)})
    return out.getvalue()


# What a correction compares: every figure of a row (not its names, nor the basis it states).
_FIGURES = tuple(f for f in REPORT_FIELDS if f not in ("center_id", "center_name", "period", "success_rate_basis"))


def record_and_compare(cursor, rows, period_end, now):
    """A period already over is reported once as it first stood; later productions say what
    changed since (a late entry, an event that arrived late), rather than changing silently.

    Stores each row's figures the first time the report of an ended period is produced,
    and marks each row with `changed_since_first_produced` (`[{field, first, now}]`, empty
    when nothing changed) and `first_produced_at`. A period not over yet is still moving:
    its rows carry neither."""
    if now < period_end or not rows:
        return rows
    period = rows[0]["period"]
    cursor.executemany(
        "INSERT INTO metrics_reported_periods (period, center_id, first_produced_at, figures)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (period, center_id) DO NOTHING",
        [(period, row["center_id"], now, dumps({f: row[f] for f in _FIGURES})) for row in rows],
    )
    cursor.execute(
        "SELECT center_id, first_produced_at, figures FROM metrics_reported_periods"
        " WHERE period = %s AND center_id = ANY(%s)",
        (period, [row["center_id"] for row in rows]),
    )
    first = {r["center_id"]: r for r in cursor.fetchall()}
    for row in rows:
        stored = first[row["center_id"]]
        row["first_produced_at"] = stored["first_produced_at"].isoformat()
        row["changed_since_first_produced"] = [
            {"field": f, "first": stored["figures"].get(f), "now": row[f]}
            for f in _FIGURES
            if f in stored["figures"] and stored["figures"][f] != row[f]
        ]
    return rows


def corrections_text(row):
    """A row's corrections in one cell: `closed_agreement 3→4; success_rate 0.6→0.65`."""
    changes = row.get("changed_since_first_produced") or []
    return "; ".join(f"{c['field']} {c['first']}→{c['now']}" for c in changes)


def produce_report(cursor, centers, settings, calendar, now, year, month=None):
    """The report of a year or month: its rows (with corrections of an ended period) and how
    the centers stand against the year's milestone."""
    rows = center_report(cursor, centers, settings, year, month, calendar, now)
    rows = record_and_compare(cursor, rows, settings.period_bounds(year, month)[1], now)
    summary = period_summary(rows, centers, settings, year)
    summary["complaints"] = complaint_totals(cursor, centers, settings, year, month)
    return rows, summary
