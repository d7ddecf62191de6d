"""The success-rate charts as inline SVG: one bar per center against the target line, and the
share of centers meeting the target against the year's milestone.

Pure formatting of report rows (`center_id`, `center_name`, `success_rate`,
`closed_agreement`, `closed_by_mediation`), shared by the metrics service's `/report`
page and the console's 统计 page, so both draw the same picture.
"""

from html import escape

BAR_HEIGHT = 22
LABEL_WIDTH = 150
CHART_WIDTH = 460
VALUE_WIDTH = 120


def percent(value):
    return "—" if value is None else f"{value * 100:.1f}%"


def _x(rate):
    return LABEL_WIDTH + rate * CHART_WIDTH


def center_chart(rows, demonstration_ids, target):
    """Horizontal bars, one per center, with the target as a dashed line."""
    height = BAR_HEIGHT * len(rows) + 40
    width = LABEL_WIDTH + CHART_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" aria-label="各中心调解成功率与目标线">'
    ]
    for tick in range(0, 101, 20):
        x = _x(tick / 100)
        parts.append(
            f'<line x1="{x}" y1="0" x2="{x}" y2="{height - 24}" class="grid"/>'
            f'<text x="{x}" y="{height - 8}" class="tick">{tick}%</text>'
        )
    for i, row in enumerate(rows):
        y = i * BAR_HEIGHT
        rate = row.get("success_rate")
        star = " ★" if row["center_id"] in demonstration_ids else ""
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" class="label">{escape(row["center_name"])}{star}</text>'
        )
        if rate is not None:
            kind = "meets" if rate >= target else "below"
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{rate * CHART_WIDTH:.1f}"'
                f' height="{BAR_HEIGHT - 6}" class="{kind}"/>'
            )
        shown = percent(rate) if rate is not None else "尚无办结案件"
        detail = (
            f"{shown}  ({row.get('closed_agreement', 0)}/{row.get('closed_by_mediation', 0)})"
            if rate is not None
            else shown
        )
        parts.append(f'<text x="{LABEL_WIDTH + CHART_WIDTH + 6}" y="{y + 15}" class="value">{escape(detail)}</text>')
    x = _x(target)
    parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height - 24}" class="target"/>')
    parts.append("</svg>")
    return "".join(parts)


def share_chart(share, goal):
    """One bar: the share of centers meeting the target, with the milestone as a dashed line."""
    width = LABEL_WIDTH + CHART_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="64"'
        f' viewBox="0 0 {width} 64" aria-label="达标中心占比与年度目标">'
    ]
    parts.append(
        f'<text x="{LABEL_WIDTH - 8}" y="22" class="label">达标中心占比</text>'
        f'<rect x="{LABEL_WIDTH}" y="6" width="{CHART_WIDTH}" height="24" class="track"/>'
    )
    if share is not None:
        kind = "meets" if goal is None or share >= goal else "below"
        parts.append(f'<rect x="{LABEL_WIDTH}" y="6" width="{share * CHART_WIDTH:.1f}" height="24" class="{kind}"/>')
    parts.append(f'<text x="{LABEL_WIDTH + CHART_WIDTH + 6}" y="22" class="value">{percent(share)}</text>')
    if goal is not None:
        x = _x(goal)
        parts.append(
            f'<line x1="{x}" y1="0" x2="{x}" y2="36" class="target"/>'
            f'<text x="{x}" y="54" class="tick">年度目标 {percent(goal)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
