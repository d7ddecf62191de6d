"""Amounts in Chinese capitals (大写) and dates in Chinese, as documents print them."""

from datetime import date
from decimal import Decimal

import pytest

from services.documents.chinese import amount_in_capitals, amount_in_figures, chinese_date, figures_date


@pytest.mark.parametrize(
    ("amount", "capitals"),
    [
        ("12000.50", "壹万贰仟元伍角"),
        ("12000.00", "壹万贰仟元整"),
        ("12000", "壹万贰仟元整"),
        ("0.00", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角"),
        ("0.57", "伍角柒分"),
        ("1.05", "壹元零伍分"),
        ("1000.05", "壹仟元零伍分"),
        ("10.00", "壹拾元整"),
        ("15.00", "壹拾伍元整"),
        ("1005.00", "壹仟零伍元整"),
        ("1050.00", "壹仟零伍拾元整"),
        ("10005.00", "壹万零伍元整"),
        ("100100.00", "壹拾万零壹佰元整"),
        ("100000.00", "壹拾万元整"),
        ("105000.00", "壹拾万伍仟元整"),
        ("100000001.00", "壹亿零壹元整"),
        ("100010000.00", "壹亿零壹万元整"),
        ("110000000.00", "壹亿壹仟万元整"),
        ("3456.78", "叁仟肆佰伍拾陆元柒角捌分"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_amount_in_capitals(amount, capitals):
    assert amount_in_capitals(Decimal(amount)) == capitals
    assert amount_in_capitals(amount) == capitals


@pytest.mark.parametrize("amount", ["-1.00", "0.001", "1000000000000.00", "abc", None])
def test_amounts_that_cannot_be_written_are_refused(amount):
    with pytest.raises(ValueError):
        amount_in_capitals(amount)


def test_amount_in_figures_groups_thousands_with_two_places():
    assert amount_in_figures("12000.5") == "12,000.50"
    assert amount_in_figures(Decimal("0")) == "0.00"
    assert amount_in_figures("999999999999.99") == "999,999,999,999.99"


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 3, 2), "二〇二六年三月二日"),
        (date(2026, 10, 10), "二〇二六年十月十日"),
        (date(2030, 12, 31), "二〇三〇年十二月三十一日"),
        ("2026-11-20", "二〇二六年十一月二十日"),
    ],
)
def test_chinese_date(day, text):
    assert chinese_date(day) == text


def test_figures_date():
    assert figures_date(date(2026, 3, 2)) == "2026年3月2日"
