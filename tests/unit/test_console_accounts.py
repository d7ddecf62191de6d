"""The accounts API on the in-memory store: logins, lockout, sessions, passwords, tokens."""

from datetime import timedelta

import pytest

from services.common.clock import FixedClock
from services.console import accounts
from services.console.service import published_route


@pytest.fixture
def store():
    return accounts.InMemoryAccountStore(clock=FixedClock())


@pytest.fixture
def clerk(store):
    """A clerk who changed the initial password: (login, password)."""
    initial = accounts.create_account(store, "li.ming", "李明", "staff", "huaguangjie")
    account_id = accounts.list_accounts(store)[0].account_id
    accounts.change_password(store, account_id, initial, "correct horse", store.clock.now())
    return "li.ming", "correct horse"


def event_types(store):
    return [e.event_type for e in store.events]


def test_an_initial_password_logs_in_once_and_must_be_changed(store):
    initial = accounts.create_account(store, "li.ming", "李明", "staff", "huaguangjie")
    result = accounts.login(store, "li.ming", initial, store.clock.now())
    assert result.must_change_password and result.account.must_change_password
    assert result.account.role == "staff" and result.account.center_id == "huaguangjie"
    accounts.change_password(store, result.account.account_id, initial, "a new secret", store.clock.now())
    assert not accounts.session(store, result.session_secret, store.clock.now()).must_change_password
    with pytest.raises(accounts.LoginRefused):
        accounts.login(store, "li.ming", initial, store.clock.now())


def test_a_given_password_is_not_one_time(store):
    accounts.create_account(store, "wang", "王芳", "district", password="district demo")
    assert not accounts.login(store, "wang", "district demo", store.clock.now()).must_change_password


@pytest.mark.parametrize("who, password", [("li.ming", "wrong password"), ("nobody", "correct horse")])
def test_a_wrong_password_and_an_unknown_login_get_the_same_refusal_and_no_session(store, clerk, who, password):
    before = len(store.events)
    with pytest.raises(accounts.LoginRefused) as refused:
        accounts.login(store, who, password, store.clock.now())
    assert str(refused.value) == "登录名或密码不正确"
    assert "SessionStarted" not in event_types(store)[before:]
    assert set(event_types(store)[before:]) <= {"LoginFailed"}


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(store, clerk):
    live = accounts.login(store, *clerk, store.clock.now())
    accounts.disable_account(store, "li.ming")
    with pytest.raises(accounts.LoginRefused):
        accounts.login(store, *clerk, store.clock.now())
    assert accounts.session(store, live.session_secret, store.clock.now()) is None
    assert event_types(store)[-1] == "SessionEnded"


def test_five_failures_within_fifteen_minutes_lock_the_login_for_fifteen_minutes(store, clerk):
    for _ in range(4):
        with pytest.raises(accounts.LoginRefused):
            accounts.login(store, "li.ming", "guess", store.clock.now())
        store.clock.advance(minutes=3)
    with pytest.raises(accounts.LoginLocked) as locked:
        accounts.login(store, "li.ming", "guess", store.clock.now())
    assert locked.value.until == store.clock.now() + timedelta(minutes=15)
    store.clock.advance(minutes=14)
    with pytest.raises(accounts.LoginLocked):
        accounts.login(store, *clerk, store.clock.now())
    store.clock.advance(minutes=1)
    assert accounts.login(store, *clerk, store.clock.now()).account.login == "li.ming"


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(store, clerk):
    for _ in range(6):
        with pytest.raises(accounts.LoginRefused):
            accounts.login(store, "li.ming", "guess", store.clock.now())
        store.clock.advance(minutes=4)
    assert accounts.login(store, *clerk, store.clock.now())


def test_a_session_ends_after_thirty_idle_minutes(store, clerk):
    live = accounts.login(store, *clerk, store.clock.now())
    store.clock.advance(minutes=29)
    assert accounts.session(store, live.session_secret, store.clock.now()) is not None
    store.clock.advance(minutes=29)
    assert accounts.session(store, live.session_secret, store.clock.now()) is not None
    store.clock.advance(minutes=30)
    assert accounts.session(store, live.session_secret, store.clock.now()) is None
    assert store.events[-1].data["reason"] == "idle"


def test_a_session_ends_after_twelve_hours_however_busy(store, clerk):
    live = accounts.login(store, *clerk, store.clock.now())
    for _ in range(12 * 4 - 1):
        store.clock.advance(minutes=15)
        assert accounts.session(store, live.session_secret, store.clock.now()) is not None
    store.clock.advance(minutes=15)
    assert accounts.session(store, live.session_secret, store.clock.now()) is None
    assert store.events[-1].data["reason"] == "expired"


def test_the_idle_sweep_ends_sessions_nobody_touches(store, clerk):
    live = accounts.login(store, *clerk, store.clock.now())
    store.clock.advance(minutes=31)
    assert accounts.end_idle_sessions(store, store.clock.now()) == 1
    assert store.events[-1].event_type == "SessionEnded"
    assert accounts.session(store, live.session_secret, store.clock.now()) is None


def test_a_session_used_after_logout_is_refused(store, clerk):
    live = accounts.login(store, *clerk, store.clock.now())
    accounts.end_session(store, live.session_secret, store.clock.now())
    assert accounts.session(store, live.session_secret, store.clock.now()) is None
    accounts.end_session(store, live.session_secret, store.clock.now())
    assert event_types(store).count("SessionEnded") == 1


def test_a_password_change_checks_the_old_password_and_the_new_one(store, clerk):
    account_id = accounts.list_accounts(store)[0].account_id
    before = len(store.events)
    for old, new, field in [
        ("wrong", "a good new one", "old_password"),
        ("correct horse", "short", "new_password"),
        ("correct horse", "correct horse", "new_password"),
    ]:
        with pytest.raises(accounts.AccountError) as refused:
            accounts.change_password(store, account_id, old, new, store.clock.now())
        assert refused.value.field == field
    assert len(store.events) == before


@pytest.mark.parametrize(
    "login, name, role, center_id, field",
    [
        ("Li Ming", "李明", "staff", "huaguangjie", "login"),
        ("li.ming2", "", "staff", "huaguangjie", "name"),
        ("li.ming2", "李明", "boss", "huaguangjie", "role"),
        ("li.ming2", "李明", "staff", None, "center_id"),
        ("li.ming2", "李明", "head", "nowhere", "center_id"),
        ("li.ming", "李明", "staff", "huaguangjie", "login"),
    ],
)
def test_an_account_refused_names_its_field_and_stores_nothing(store, clerk, login, name, role, center_id, field):
    before = len(store.events)
    with pytest.raises(accounts.AccountError) as refused:
        accounts.create_account(store, login, name, role, center_id)
    assert refused.value.field == field
    assert len(store.events) == before


def test_district_and_admin_accounts_belong_to_no_center(store):
    accounts.create_account(store, "qu", "区里", "district", "huaguangjie", password="district pw")
    assert accounts.list_accounts(store)[0].center_id is None


def test_personal_tokens_are_revoked_by_prefix_or_by_account(store, clerk):
    first = accounts.issue_personal_token(store, "li.ming", days=30)
    second = accounts.issue_personal_token(store, "li.ming")
    issued = [e.data for e in store.events if e.event_type == "PersonalTokenIssued"]
    assert issued[0]["expires_at"] == (store.clock.now() + timedelta(days=30)).isoformat()
    assert issued[1]["expires_at"] == (store.clock.now() + timedelta(days=90)).isoformat()
    assert first not in str(store.events) and accounts.hash_secret(first) == issued[0]["token_hash"]
    assert accounts.revoke_tokens(store, prefix=first[:11]) == [issued[0]["prefix"]]
    assert accounts.revoke_tokens(store, login="li.ming") == [issued[1]["prefix"]]
    assert accounts.revoke_tokens(store, login="li.ming") == []
    with pytest.raises(accounts.UnknownToken):
        accounts.revoke_tokens(store, prefix="zzzzzzzz")
    del second


def test_machine_tokens_are_revoked_by_prefix(store):
    accounts.record_machine_token(store, "tj_abcdefghijk", "center", "huaguangjie")
    assert accounts.revoke_tokens(store, prefix="abcdefgh") == ["abcdefgh"]
    assert store.events[-1].data == {
        "token_hash": accounts.hash_secret("tj_abcdefghijk"),
        "kind": "machine",
        "account_id": None,
    }


def test_a_disabled_account_gets_no_new_token(store, clerk):
    accounts.disable_account(store, "li.ming")
    with pytest.raises(accounts.AccountError):
        accounts.issue_personal_token(store, "li.ming")


def test_password_hashes_are_argon2_and_never_published(store, clerk):
    stored = [e for e in store.events if "password_hash" in e.data]
    assert stored and all(e.data["password_hash"].startswith("$argon2id$") for e in stored)
    route = published_route()
    for event in store.events:
        for publication in route(event):
            assert "password_hash" not in publication.body["data"]
            assert publication.exchange == "console.events"


def test_secrets_stay_out_of_reprs(store, clerk):
    result = accounts.login(store, *clerk, store.clock.now())
    assert result.session_secret not in repr(result)
    assert result.session_secret == result.account.bearer
