"""The work-evaluation report (工作考评): per center and period, from the read model.

`center_report` is the one computation; the JSON and CSV endpoints (and any page that
shows the report) only format its rows.
"""

import csv
import io
from decimal import Decimal

from .collector import success_rate

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
    "closed_by_mediation",
    "success_rate",
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
    "recommendations",
)

_CASE_COUNTS = """
SELECT center_id,
  count(*) FILTER (WHERE received_at >= %(start)s AND received_at < %(end)s) AS received,
  count(*) FILTER (WHERE accepted_at >= %(start)s AND accepted_at < %(end)s) AS accepted,
  count(*) FILTER (WHERE in_period AND outcome = 'agreement') AS closed_agreement,
  count(*) FILTER (WHERE in_period AND outcome = 'failed') AS closed_failed,
  count(*) FILTER (WHERE in_period AND outcome = 'expired') AS closed_expired,
  count(*) FILTER (WHERE in_period AND outcome = 'withdrawn') AS closed_withdrawn,
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

_CENTER_FACT_COUNTS = """
SELECT center_id,
  count(*) FILTER (WHERE kind = 'consultation') AS consultations,
  count(*) FILTER (WHERE kind = 'survey') AS surveys,
  avg(score) FILTER (WHERE kind = 'survey') AS mean_satisfaction,
  count(*) FILTER (WHERE kind = 'complaint') AS complaints,
  count(*) FILTER (WHERE kind = 'recommendation') AS recommendations
FROM metrics_center_facts WHERE at >= %(start)s AND at < %(end)s
GROUP BY center_id
"""


def _ratio(numerator, denominator):
    return round(numerator / denominator, 4) if denominator else None


def center_report(cursor, centers, settings, year, month=None):
    """One row per center (in the given order) for a calendar year or month."""
    start, end = settings.period_bounds(year, month)
    cursor.execute(_CASE_COUNTS, {"start": start, "end": end})
    cases = {r["center_id"]: r for r in cursor.fetchall()}
    cursor.execute(_CENTER_FACT_COUNTS, {"start": start, "end": end})
    facts = {r["center_id"]: r for r in cursor.fetchall()}
    period = f"{year:04d}-{month:02d}" if month else f"{year:04d}"
    rows = []
    for center in centers:
        c = cases.get(center.center_id, {})
        f = facts.get(center.center_id, {})
        count = lambda source, key: int(source.get(key) or 0)  # noqa: E731
        closed = count(c, "closed_by_mediation")
        denominator = {"closed": closed, "accepted": count(c, "accepted"), "received": count(c, "received")}
        rate = success_rate(count(c, "closed_agreement"), closed, denominator[settings.denominator])
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
                    )
                },
                "closed_by_mediation": closed,
                "success_rate": round(rate, 4) if rate is not None else None,
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
                "recommendations": count(f, "recommendations"),
            }
        )
    return rows


def report_csv(rows):
    """The rows as CSV with a header line (empty cells where a rate has no cases)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in REPORT_FIELDS})
    return out.getvalue()
