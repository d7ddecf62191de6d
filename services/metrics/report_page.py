"""The leadership report as one printable HTML page (`GET /report`), for those without Grafana.

It shows each center's success rate this year against the target line (60%), and the
share of centers meeting the target against this year's milestone, as inline SVG: the
page loads nothing else. Pure: it formats the rows of `report.center_report`.
"""

from datetime import datetime
from html import escape

from services.common.report_charts import center_chart, percent, share_chart

STYLE = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.meta { color: #555; font-size: 0.9em; }
svg text { font-size: 12px; fill: #222; } .label { text-anchor: end; } .tick { text-anchor: middle; fill: #666; }
.grid { stroke: #ddd; } .target { stroke: #c00; stroke-width: 2; stroke-dasharray: 6 4; }
.meets { fill: #2e7d32; } .below { fill: #e08a00; } .track { fill: #eee; }
table { border-collapse: collapse; margin-top: 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; } th:first-child, td:first-child { text-align: left; }
@media print { body { margin: 0.5cm; } a { color: inherit; text-decoration: none; } }
"""


BASIS_TEXT = {
    "closed_in_period": "调解成功率 = 期内调解成功数 ÷ 期内调解办结数",
    "cohort_accepted_in_period": "调解成功率（队列口径）= 期内受理的案件中调解成功的 ÷ 期内受理数，不论何时办结",
    "cohort_received_in_period": "调解成功率（队列口径）= 期内收案的案件中调解成功的 ÷ 期内收案数，不论何时办结",
}


def _summary_text(summary, year, target):
    """Where the centers stand against the milestone, in words: never a bare number."""
    if summary is None:
        return ""
    milestone = summary.get("milestone")
    counted = f"计入考核的 {summary['centers_counted']} 个中心中有 {summary['centers_meeting_target']} 个达标"
    without = (
        f"；{summary['centers_without_data']} 个中心本期尚无调解办结数据，按未达标计"
        if summary["centers_without_data"]
        else ""
    )
    goal = (
        f"{year} 年适用的规划节点（{milestone['year']} 年）：{escape(milestone['text'] or '')}"
        f"（要求达标占比 {percent(milestone['share'])}）。"
        if milestone
        else ""
    )
    return f"{counted}{without}。{goal}"


def _acceptance(row):
    due = row.get("acceptance_decisions_due", 0)
    if not due:
        return "—"
    return f"{row.get('accepted_within_3_working_days', 0)}/{due}（{percent(row.get('acceptance_within_3_working_days_rate'))}）"


FIELD_LABELS = {
    "received": "收案",
    "accepted": "受理",
    "closed_agreement": "调解成功",
    "closed_failed": "调解不成",
    "closed_expired": "逾期未结",
    "closed_withdrawn": "受理后撤回",
    "closed_not_accepted": "不予受理",
    "withdrawn_before_acceptance": "受理前撤回",
    "closed_by_mediation": "调解办结",
    "success_rate": "调解成功率",
    "success_rate_closed": "调解成功率（办结口径）",
    "on_time_closure_rate": "按期办结率",
    "cohort_accepted": "期内受理案件数",
    "cohort_accepted_rate": "调解成功率（受理队列口径）",
    "cohort_received": "期内收案案件数",
    "cohort_received_rate": "调解成功率（收案队列口径）",
    "acceptance_decisions_due": "应作出受理决定数",
    "accepted_within_3_working_days": "3 个工作日内作出受理决定数",
    "amount_agreed": "协议金额",
    "complaints": "投诉",
    "complaints_open": "投诉待答复",
    "complaints_answered": "投诉已答复",
    "complaints_mean_days_to_answer": "投诉平均答复天数",
}


def _complaints(row):
    """A center's complaints of the period: open / answered, and the mean days to answer."""
    text = f"{row.get('complaints_open', 0)} / {row.get('complaints_answered', 0)}"
    mean = row.get("complaints_mean_days_to_answer")
    return text if mean is None else f"{text}（平均 {mean} 天）"


def _complaint_totals(summary):
    """The district's complaints of the period in words (all the centers of the page)."""
    totals = (summary or {}).get("complaints")
    if not totals:
        return ""
    mean = totals.get("mean_days_to_answer")
    answered = f"已答复 {totals['answered']} 件" + (f"，平均 {mean} 天答复" if mean is not None else "")
    return (
        f'<p class="meta">全区投诉：本期登记 {totals["filed"]} 件，待答复 {totals["open"]} 件，{answered}'
        "（按期末状态统计：期末后才答复的，在本期仍计为待答复）。</p>"
    )


def _figure(value):
    if isinstance(value, float):
        return percent(value)
    return str(value)


def _corrections(rows, zone):
    """The figures of an ended period that changed since the report was first produced."""
    changed = [r for r in rows if r.get("changed_since_first_produced")]
    if not changed:
        return ""
    items = "".join(
        "<li>{name}：{changes}（首次生成于 {first}）</li>".format(
            name=escape(r["center_name"]),
            changes="；".join(
                f"{escape(FIELD_LABELS.get(c['field'], c['field']))} 由 {escape(_figure(c['first']))}"
                f" 变为 {escape(_figure(c['now']))}"
                for c in r["changed_since_first_produced"]
                if c["field"] in FIELD_LABELS
            ),
            first=datetime.fromisoformat(r["first_produced_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )
        for r in changed
    )
    return f'<h2>更正（changed since first produced）</h2><p class="meta">本期报表首次生成后，因补录或迟到的记录，以下数字有变化：</p><ul>{items}</ul>'


def render_report_page(rows, demonstration_ids, year, target, goal, generated_at, summary=None):
    """The page for `rows` of `center_report` (one per center) of calendar `year`, with the
    `summary` of `report.period_summary` (the share counts centers without data against it)."""
    rated = [r for r in rows if r.get("success_rate") is not None]
    meeting = [r for r in rated if r["success_rate"] >= target]
    share = summary["share"] if summary else (len(meeting) / len(rows) if rows else None)
    basis = BASIS_TEXT.get(rows[0].get("success_rate_basis"), "") if rows else ""
    table_rows = "".join(
        "<tr><td>{name}{star}</td><td>{received}</td><td>{agreements}</td><td>{closed}</td><td>{rate}</td>"
        "<td>{on_time}</td><td>{performance}</td><td>{acceptance}</td><td>{complaints}</td></tr>".format(
            name=escape(r["center_name"]),
            star=" ★" if r["center_id"] in demonstration_ids else "",
            received=r.get("received", 0),
            agreements=r.get("closed_agreement", 0),
            closed=r.get("closed_by_mediation", 0),
            rate=percent(r.get("success_rate")),
            on_time=percent(r.get("on_time_closure_rate")),
            performance=percent(r.get("agreement_performance_rate")),
            acceptance=_acceptance(r),
            complaints=_complaints(r),
        )
        for r in rows
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{year} 年调解成功率（mediation success rate）</title>
<style>{STYLE}</style></head>
<body>
<h1>{year} 年劳动人事争议调解成功率（Mediation success rate）</h1>
<p class="meta">统计期间：{year} 年 1 月 1 日至今，截至 {escape(generated_at.strftime("%Y-%m-%d %H:%M"))}（{escape(generated_at.strftime("%Z"))}）。
目标：每个中心办结的案件中，调解成功（达成协议）的不低于 {percent(target)}。
{len(rows)} 个中心中有 {len(meeting)} 个达标；{year} 年要求达标中心占比 {percent(goal)}。★ 为示范中心。</p>
<p class="meta">{escape(basis)}。{_summary_text(summary, year, target)}</p>
<h2>各中心调解成功率（success rate per center）</h2>
{center_chart(rows, demonstration_ids, target)}
<h2>达标中心占比（centers meeting the target）</h2>
{share_chart(share, goal)}
<table>
<tr><th>中心</th><th>收案</th><th>调解成功</th><th>调解办结</th><th>调解成功率</th>
<th>按期办结率</th><th>协议履行率</th><th>3 个工作日内作出受理决定</th><th>投诉 待答复 / 已答复</th></tr>
{table_rows}
</table>
{_complaint_totals(summary)}
{_corrections(rows, generated_at.tzinfo)}
</body></html>
"""
