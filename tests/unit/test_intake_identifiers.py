"""GB 11643 resident id check digits and GB 32100 credit code check characters."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.identifiers import (
    CREDIT_CODE_ALPHABET,
    credit_code_check_character,
    is_valid_credit_code,
    is_valid_resident_id,
    resident_id_check_digit,
)


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", "440524188001010014"])
def test_known_resident_ids_check(number):
    assert is_valid_resident_id(number)


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",
        "11010519491231002",
        "11010519491231002XX",
        "1101051949123100AX",
        "",
        None,
        11010519491231002,
    ],
)
def test_wrong_resident_ids_do_not_check(number):
    assert not is_valid_resident_id(number)


def test_the_resident_id_check_digit_follows_iso_7064_mod_11_2():
    assert resident_id_check_digit("11010519491231002") == "X"
    assert resident_id_check_digit("44052418800101001") == "4"


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_exactly_one_check_digit_fits_any_resident_id(body, check):
    assert is_valid_resident_id(body + check) == (check == resident_id_check_digit(body))


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "911100007109310534"])
def test_known_credit_codes_check(code):
    assert is_valid_credit_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",
        "91350100M000100Y4",
        "91350100M000100Y433",
        "91350100I000100Y43",
        "91350100m000100y43",
        None,
    ],
)
def test_wrong_credit_codes_do_not_check(code):
    assert not is_valid_credit_code(code)


@given(st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_exactly_one_check_character_fits_any_credit_code(body, check):
    assert is_valid_credit_code(body + check) == (check == credit_code_check_character(body))


def test_a_check_character_is_refused_for_a_malformed_body():
    with pytest.raises(ValueError):
        credit_code_check_character("91350100O000100Y4")
    with pytest.raises(ValueError):
        resident_id_check_digit("1101051949123100")
