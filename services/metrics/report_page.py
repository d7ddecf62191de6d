"""The leadership report as one printable HTML page (`GET /report`), for those without Grafana.

It shows each center's success rate this year against the target line (60%), and the
share of centers meeting the target against this year's milestone, as inline SVG: the
page loads nothing else. Pure: it formats the rows of `report.center_report`.
"""

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


def render_report_page(rows, demonstration_ids, year, target, goal, generated_at):
    """The page for `rows` of `center_report` (one per center) of calendar `year`."""
    rated = [r for r in rows if r.get("success_rate") is not None]
    meeting = [r for r in rated if r["success_rate"] >= target]
    share = len(meeting) / len(rows) if rows else None
    table_rows = "".join(
        "<tr><td>{name}{star}</td><td>{received}</td><td>{agreements}</td><td>{closed}</td><td>{rate}</td>"
        "<td>{on_time}</td><td>{performance}</td></tr>".format(
            name=escape(r["center_name"]),
            star=" ★" if r["center_id"] in demonstration_ids else "",
            received=r.get("received", 0),
            agreements=r.get("closed_agreement", 0),
            closed=r.get("closed_by_mediation", 0),
            rate=percent(r.get("success_rate")),
            on_time=percent(r.get("on_time_closure_rate")),
            performance=percent(r.get("agreement_performance_rate")),
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
<h2>各中心调解成功率（success rate per center）</h2>
{center_chart(rows, demonstration_ids, target)}
<h2>达标中心占比（centers meeting the target）</h2>
{share_chart(share, goal)}
<table>
<tr><th>中心</th><th>收案</th><th>调解成功</th><th>调解办结</th><th>调解成功率</th>
<th>按期办结率</th><th>协议履行率</th></tr>
{table_rows}
</table>
</body></html>
"""
