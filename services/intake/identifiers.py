"""Check characters of Chinese identifiers: resident id numbers (GB 11643) and unified social credit codes (GB 32100).

Pure functions: the schemas call them at the boundary, and nothing inside re-checks.
"""

from datetime import date

# GB 11643-1999: 17 digits, then a check character from ISO 7064 MOD 11-2.
_RESIDENT_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
_RESIDENT_CHECK = "10X98765432"

# GB 32100-2015: 18 characters from a 31-character alphabet (no I, O, Z, S, V), the last
# a MOD 31 check character with weights 3^i mod 31.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = tuple(3**i % 31 for i in range(17))


def resident_id_check_digit(first17):
    """The GB 11643 check character of the first 17 digits of a resident id number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("a resident id number starts with 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11]


def is_valid_resident_id(number):
    """True for an 18-character resident id number whose last character checks (`x` counts as `X`)."""
    if not isinstance(number, str) or len(number) != 18:
        return False
    body, check = number[:17], number[17].upper()
    if not (body.isascii() and body.isdigit()):
        return False
    return resident_id_check_digit(body) == check


# GB/T 2260: the province (or HK, Macao, Taiwan) a resident id's region code starts with.
RESIDENT_ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)


def resident_id_birth_date(number):
    """The birth date a resident id number carries (digits 7 to 14), or None if it is no date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def resident_id_problem(number, earliest_birth):
    """Why `number` cannot be a resident id number, or None: its check digit, its region or its birth date.

    A number whose check digit fits may still name no province (`000000...`), or a birth
    date that does not exist (`19901345`) or lies before `earliest_birth`; a birth date in
    the future needs today, which the caller has.
    """
    if not is_valid_resident_id(number):
        return "Not a valid resident id number (18 characters with a GB 11643 check digit)."
    if number[:2] not in RESIDENT_ID_PROVINCES:
        return "Not a valid resident id number: its first six digits name no region."
    born = resident_id_birth_date(number)
    if born is None or born < earliest_birth:
        return "Not a valid resident id number: digits 7 to 14 are no birth date."
    return None


def credit_code_check_character(first17):
    """The GB 32100 check character of the first 17 characters of a unified social credit code."""
    if len(first17) != 17 or any(c not in CREDIT_CODE_ALPHABET for c in first17):
        raise ValueError("a credit code starts with 17 characters of its alphabet")
    total = sum(CREDIT_CODE_ALPHABET.index(c) * weight for c, weight in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code):
    """True for an 18-character unified social credit code whose last character checks."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in CREDIT_CODE_ALPHABET for c in code):
        return False
    return credit_code_check_character(code[:17]) == code[17]
