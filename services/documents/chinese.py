"""How documents write amounts and dates: figures, Chinese capitals (大写) and Chinese dates.

Capitals follow the rules for writing amounts on payment instruments (《支付结算办法》
附件一): 壹贰叁… with 拾佰仟万亿, 元角分; 整 after an amount that ends at 元; one 零 for a
run of zeros between two written digits; 壹拾 rather than 拾 at the head of an amount.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from services.common import money

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿")
# The largest amount the system takes (docs/LIMITS.md): below 万亿, so the groups below suffice.
MAX_AMOUNT = money.MAX_AMOUNT

_DATE_DIGITS = "〇一二三四五六七八九"


def _cents(amount):
    try:
        value = Decimal(amount)
        cents = value.quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        cents = None
    if cents is None or cents != value:
        raise ValueError(f"not an amount with at most two decimal places: {amount!r}")
    if value.is_signed() and value != 0:
        raise ValueError("an amount cannot be negative")
    if cents > MAX_AMOUNT:
        raise ValueError(f"amounts above {MAX_AMOUNT} cannot be written")
    return int(cents * 100)


def amount_in_capitals(amount):
    """12000.50 → 壹万贰仟元伍角; 1005 → 壹仟零伍元整; 0.05 → 伍分; 0 → 零元整."""
    cents = _cents(amount)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = _integer_in_capitals(yuan) + "元" if yuan else ""
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += "零"  # 壹元零伍分: the missing 角 is read as 零
    if fen:
        text += DIGITS[fen] + "分"
    return text


def _integer_in_capitals(number):
    """A positive whole number in capitals, grouped by 万 and 亿, with one 零 per gap."""
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    text = ""
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or group < 1000):
            text += "零"
        text += _group_in_capitals(group) + GROUPS[index]
        pending_zero = False
    return text


def _group_in_capitals(group):
    """1 to 9999 without its leading zeros: 1005 → 壹仟零伍, 10 → 壹拾, 100 → 壹佰."""
    digits = f"{group:d}"
    text = ""
    zero = False
    for position, char in enumerate(digits):
        digit = int(char)
        place = len(digits) - 1 - position
        if digit == 0:
            zero = True
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[digit] + PLACES[place]
    return text


def amount_in_figures(amount):
    """12000.5 → 12,000.50 (the figures printed beside the capitals)."""
    return f"{Decimal(_cents(amount)) / 100:,.2f}"


def chinese_date(day):
    """2026-03-02 → 二〇二六年三月二日, the form of a seal date."""
    if not isinstance(day, date):
        day = date.fromisoformat(str(day)[:10])
    year = "".join(_DATE_DIGITS[int(c)] for c in f"{day.year:04d}")
    return f"{year}年{_small_number(day.month)}月{_small_number(day.day)}日"


def _small_number(number):
    """1..31 in everyday numerals: 2 → 二, 10 → 十, 12 → 十二, 20 → 二十, 31 → 三十一."""
    tens, units = divmod(number, 10)
    text = ("" if tens == 1 else _DATE_DIGITS[tens]) + "十" if tens else ""
    return text + (_DATE_DIGITS[units] if units else "")


def figures_date(day):
    """2026-03-02 → 2026年3月2日, for dates inside the text."""
    if not isinstance(day, date):
        day = date.fromisoformat(str(day)[:10])
    return f"{day.year}年{day.month}月{day.day}日"
