"""The leadership report page: one self-contained, printable page with both charts."""

import re
from datetime import UTC, datetime

from services.metrics.report_page import render_report_page


def _row(center_id, name, rate, agreements=0, closed=0):
    return {
        "center_id": center_id,
        "center_name": name,
        "success_rate": rate,
        "closed_agreement": agreements,
        "closed_by_mediation": closed,
        "received": closed + 1,
    }


ROWS = [
    _row("huaguangjie", "华光街街道办事处", 0.8, 8, 10),
    _row("qidaowan", "七道湾片区管委会", 0.4, 2, 5),
    _row("yushugou", "榆树沟街道办事处", None),
    _row("evil", "<script>x</script>", 0.6, 3, 5),
]


def _page():
    return render_report_page(ROWS, {"huaguangjie"}, 2026, 0.6, 0.95, datetime(2026, 11, 28, 8, tzinfo=UTC))


def test_bars_are_coloured_by_the_target_and_a_center_without_closures_has_no_bar():
    page = _page()
    assert len(re.findall(r'class="meets"', page)) == 2 + 0  # 80% and exactly 60% meet; the share (50%) is below 95%
    assert len(re.findall(r'class="below"', page)) == 2  # 40%, and the share against the milestone
    assert "尚无办结案件" in page


def test_target_and_milestone_lines_and_the_share_of_centers():
    page = _page()
    assert page.count('class="target"') == 2
    assert "4 个中心中有 2 个达标" in page
    assert "年度目标 95.0%" in page


def test_the_page_is_self_contained_printable_and_escaped():
    page = _page()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "@media print" in page
    assert not re.search(r'(src|href)="https?:', page)
    assert "华光街街道办事处 ★" in page


def test_complaints_per_center_and_for_the_district_in_words():
    rows = [
        {**ROWS[0], "complaints_open": 1, "complaints_answered": 2, "complaints_mean_days_to_answer": 8.0},
        {**ROWS[1], "complaints_open": 0, "complaints_answered": 0, "complaints_mean_days_to_answer": None},
    ]
    summary = {
        "share": 0.5,
        "centers_counted": 2,
        "centers_meeting_target": 1,
        "centers_without_data": 0,
        "milestone": None,
        "complaints": {"filed": 3, "open": 1, "answered": 2, "mean_days_to_answer": 8.0},
    }
    page = render_report_page(rows, {"huaguangjie"}, 2026, 0.6, 0.95, datetime(2026, 11, 28, 8, tzinfo=UTC), summary)
    assert "<td>1 / 2（平均 8.0 天）</td>" in page and "<td>0 / 0</td>" in page
    assert "全区投诉：本期登记 3 件，待答复 1 件，已答复 2 件，平均 8.0 天答复" in page
