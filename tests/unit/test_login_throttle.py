"""Failed logins are throttled for any login name and any client address, with one answer.

The rule (`accounts.throttle`) and the accounts API on the in-memory store: a name that is
no account locks exactly as an account does, an address locks whatever names it tries,
and what a caller sees never tells a known name from an unknown one.
"""

from datetime import timedelta

import pytest

from services.common.clock import FixedClock
from services.console import accounts
from services.console.accounts import throttle
from services.console.settings import account_settings

WINDOW = timedelta(minutes=15)


def test_the_fifth_failure_within_the_window_locks_for_the_duration():
    failures = throttle.Failures()
    start = FixedClock().now()
    for minute in range(4):
        failures = failures.after_failure(start + timedelta(minutes=3 * minute), 5, WINDOW, WINDOW)
        assert failures.locked(start + timedelta(minutes=3 * minute)) is None
    fifth = start + timedelta(minutes=12)
    failures = failures.after_failure(fifth, 5, WINDOW, WINDOW)
    assert failures.locked(fifth) == fifth + WINDOW
    assert failures.locked(fifth + WINDOW - timedelta(seconds=1)) == fifth + WINDOW
    assert failures.locked(fifth + WINDOW) is None
    assert failures.times == ()  # a lock starts the count again, as an account's LoginLocked does


def test_failures_older_than_the_window_do_not_count():
    failures = throttle.Failures()
    start = FixedClock().now()
    for n in range(10):
        at = start + timedelta(minutes=4 * n)
        failures = failures.after_failure(at, 5, WINDOW, WINDOW)
        assert failures.locked(at) is None
    assert len(failures.times) == 4  # 0, 4, 8 and 12 minutes before the last one


def test_a_row_is_forgotten_only_when_it_says_nothing_any_more():
    start = FixedClock().now()
    failures = throttle.Failures().after_failure(start, 5, WINDOW, timedelta(minutes=30))
    assert failures.forget_after(WINDOW) == start + WINDOW
    for _ in range(4):
        failures = failures.after_failure(start, 5, WINDOW, timedelta(minutes=30))
    assert failures.forget_after(WINDOW) == start + timedelta(minutes=30)


def test_keys_hold_neither_the_name_nor_the_address():
    assert "li.ming" not in throttle.name_key("li.ming") and "10.1.2.3" not in throttle.address_key("10.1.2.3")
    assert throttle.name_key("li.ming") != throttle.address_key("li.ming")


def test_minutes_left_rounds_up_and_is_at_least_one():
    now = FixedClock().now()
    assert throttle.minutes_left(now + timedelta(minutes=14, seconds=1), now) == 15
    assert throttle.minutes_left(now + timedelta(seconds=5), now) == 1


def test_the_limits_come_from_the_environment():
    settings = account_settings(
        {
            "TIAOJIE_LOGIN_FAILURES_PER_NAME": "3",
            "TIAOJIE_LOGIN_FAILURES_PER_ADDRESS": "20",
            "TIAOJIE_LOGIN_WINDOW_MINUTES": "10",
        }
    )
    assert (settings.lockout_failures, settings.address_failures) == (3, 20)
    assert settings.lockout_window == settings.lockout_duration == timedelta(minutes=10)
    default = account_settings({})
    assert (default.lockout_failures, default.address_failures, default.lockout_window) == (5, 50, WINDOW)


# --- the accounts API ---------------------------------------------------------------------


@pytest.fixture
def store():
    store = accounts.InMemoryAccountStore(clock=FixedClock())
    accounts.create_account(store, "li.ming", "李明", "staff", "huaguangjie", password="correct horse")
    return store


def outcomes(store, login, attempts, address=None, password="wrong guess"):
    """What each of `attempts` failed logins raised: ("refused", None) or ("locked", minutes left)."""
    seen = []
    for _ in range(attempts):
        now = store.clock.now()
        with pytest.raises((accounts.LoginRefused, accounts.LoginLocked)) as raised:
            accounts.login(store, login, password, now, address=address)
        if isinstance(raised.value, accounts.LoginLocked):
            seen.append(("locked", raised.value.until - now, str(raised.value).split("请于")[0]))
        else:
            seen.append(("refused", None, str(raised.value)))
        store.clock.advance(minutes=1)
    return seen


def test_an_unknown_name_locks_as_a_known_one_and_gets_the_same_answers(store):
    known = outcomes(store, "li.ming", 7, address="10.0.0.1")
    unknown = outcomes(store, "no.such.person", 7, address="10.0.0.2")
    assert known == unknown
    assert [kind for kind, _, _ in unknown] == ["refused"] * 4 + ["locked"] * 3
    assert unknown[-1][1] == timedelta(minutes=13)  # locked at the fifth, 15 minutes from then


def test_a_locked_unknown_name_is_open_again_after_the_lock(store):
    outcomes(store, "no.such.person", 5)
    store.clock.advance(minutes=14)
    assert outcomes(store, "no.such.person", 1) == [("refused", None, "登录名或密码不正确")]


def test_unknown_names_are_counted_without_a_single_event(store):
    before = len(store.events)
    outcomes(store, "no.such.person", 6, address="10.0.0.9")
    assert len(store.events) == before


def test_an_address_locks_after_its_failures_whichever_names_it_tried(store):
    store.settings = accounts.AccountSettings(address_failures=8)
    for n in range(7):
        with pytest.raises(accounts.LoginRefused):
            accounts.login(store, f"name{n}", "guess", store.clock.now(), address="10.9.9.9")
    with pytest.raises(accounts.LoginLocked):
        accounts.login(store, "name7", "guess", store.clock.now(), address="10.9.9.9")
    # Even the right password does not get in from that address while it is locked ...
    with pytest.raises(accounts.LoginLocked):
        accounts.login(store, "li.ming", "correct horse", store.clock.now(), address="10.9.9.9")
    # ... and the account itself is not locked: from elsewhere it logs in.
    assert accounts.login(store, "li.ming", "correct horse", store.clock.now(), address="10.1.1.1")


def test_a_disabled_account_costs_a_verification_like_any_other(store):
    accounts.disable_account(store, "li.ming")
    verified = []
    real = store.passwords.verify
    store.passwords.verify = lambda h, p: verified.append(p) or real(h, p)
    with pytest.raises(accounts.LoginRefused):
        accounts.login(store, "li.ming", "correct horse", store.clock.now())
    assert verified == ["correct horse"]


def test_an_unknown_name_costs_a_verification_against_the_decoy(store):
    verified = []
    real = store.passwords.verify
    store.passwords.verify = lambda h, p: verified.append(h) or real(h, p)
    with pytest.raises(accounts.LoginRefused):
        accounts.login(store, "no.such.person", "guess", store.clock.now())
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


def test_the_timer_forgets_counters_whose_time_is_over(store):
    outcomes(store, "no.such.person", 2, address="10.0.0.3")
    assert accounts.forget_login_failures(store, store.clock.now()) == 0
    store.clock.advance(minutes=15)
    assert accounts.forget_login_failures(store, store.clock.now()) == 2
