"""The success rate and the share of centers meeting the target: one computation for the
gauges and the report.

The success rate (调解成功率) has three bases (DOMAIN.md, "Indicators"):
- `closed`: agreements ÷ cases closed by mediation in the period (the national statistics);
- `accepted` and `received`: a *cohort* rate, agreements among the cases accepted (or
  received) in the period, whenever they closed. Dividing agreements closed in a period
  by cases accepted in it mixes two sets of cases and can exceed 100%.

A center has a rate only once something of its basis is closed by mediation; a center
without one is "without data" and counts against the share of centers meeting the target
(the plan counts centers).
"""

from .readmodel import OUTCOMES  # a case's outcome as the read model derives it; "open": none yet

BASIS = {
    "closed": "closed_in_period",
    "accepted": "cohort_accepted_in_period",
    "received": "cohort_received_in_period",
}
COHORTS = ("accepted", "received")
COHORT_OUTCOMES = (*OUTCOMES, "open")


def _outcome_is(outcome):
    return "outcome IS NULL" if outcome == "open" else f"outcome = '{outcome}'"


_COHORT_COLUMNS = ",\n".join(
    f"  count(*) FILTER (WHERE {cohort}_in) AS cohort_{cohort},\n"
    f"  count(*) FILTER (WHERE {cohort}_in AND closed_by_mediation) AS cohort_{cohort}_closed,\n"
    + ",\n".join(
        f"  count(*) FILTER (WHERE {cohort}_in AND {_outcome_is(outcome)}) AS cohort_{cohort}_{outcome}"
        for outcome in COHORT_OUTCOMES
    )
    for cohort in COHORTS
)

SUCCESS_COUNTS = f"""
SELECT center_id,
  count(*) FILTER (WHERE in_period AND closed_by_mediation) AS closed,
  count(*) FILTER (WHERE in_period AND closed_by_mediation AND outcome = 'agreement') AS closed_agreement,
{_COHORT_COLUMNS}
FROM (SELECT *,
        closed_at >= %(start)s AND closed_at < %(end)s AS in_period,
        accepted_at >= %(start)s AND accepted_at < %(end)s AS accepted_in,
        received_at >= %(start)s AND received_at < %(end)s AS received_in
      FROM metrics_cases) c
GROUP BY center_id
"""


def success_counts(cursor, start, end):
    """Per center: what each basis of the success rate counts in [start, end)."""
    cursor.execute(SUCCESS_COUNTS, {"start": start, "end": end})
    return {row["center_id"]: {k: int(v) for k, v in row.items() if k != "center_id"} for row in cursor.fetchall()}


def success_rate(counts, denominator):
    """The rate on one basis, in [0, 1]; None (no sample) while nothing of it is closed."""
    if denominator == "closed":
        closed = counts.get("closed", 0)
        return counts.get("closed_agreement", 0) / closed if closed else None
    if not counts.get(f"cohort_{denominator}_closed", 0):
        return None
    return counts.get(f"cohort_{denominator}_agreement", 0) / counts[f"cohort_{denominator}"]


def rates_by_center(counts, denominator):
    """`{center_id: rate}` for the centers that have one."""
    rates = {center_id: success_rate(found, denominator) for center_id, found in counts.items()}
    return {center_id: rate for center_id, rate in rates.items() if rate is not None}


def share_of_centers(rates, counted, target):
    """How the counted centers stand against the target: meeting, without data, the share.

    A center without data counts in the denominator and not as meeting the target."""
    meeting = [c.center_id for c in counted if rates.get(c.center_id, -1) >= target]
    without = [c.center_id for c in counted if c.center_id not in rates]
    return {
        "centers_counted": len(counted),
        "centers_meeting_target": len(meeting),
        "centers_without_data": len(without),
        "centers_without_data_ids": without,
        "share": len(meeting) / len(counted) if counted else None,
    }
