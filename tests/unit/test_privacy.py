"""Personal data sealed in events (docs/PRIVACY.md): the kernel's crypto and intake on it, no I/O."""

import itertools
import json
import os
import time
import types
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from services.common import privacy
from services.common.auth import Principal
from services.common.clock import FixedClock
from services.common.errors import Forbidden
from services.common.keystore import InMemoryKeyStore, Recent, Vault, memory_vault
from services.common.unit_of_work import FakeUnitOfWork
from services.intake import handlers
from services.intake.commands import DecideAcceptance, RecordConsultation, RegisterApplication, WithdrawApplication
from services.intake.records import InMemoryIntakeRecords
from tests.unit.test_intake_domain import an_application

MARKED = {
    "name": "标记张三",
    "id_type": "resident_id",
    "id_number": "650105199001011234",
    "phone": "13912345678",
    "address": "标记路1号",
}
RESPONDENT = {"name": "标记公司", "credit_code": "91650100MA00000X1X", "legal_representative": "标记李四"}


@pytest.fixture
def vault():
    return memory_vault()


@pytest.fixture
def uow(vault):
    ids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count(1))
    settings = handlers.IntakeSettings(zone=ZoneInfo("Asia/Shanghai"), new_id=lambda: next(ids))
    records = InMemoryIntakeRecords(search_token=vault.search_token)
    return FakeUnitOfWork(FixedClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC)), settings, vault=vault, records=records)


def register(uow):
    application = an_application(applicant=MARKED, respondent=RESPONDENT, description="标记：张三被欠薪")
    with uow:
        return handlers.register_application(RegisterApplication(application=application), uow)


def stored_text(uow):
    return json.dumps([e.data for e in uow.stored.events], ensure_ascii=False)


MARKS = ("标记", "650105199001011234", "13912345678", "91650100MA00000X1X")


def test_seal_and_open_round_trip_and_a_destroyed_key_reads_erased():
    key = privacy.new_data_key()
    data = {"applicant": dict(MARKED), "description": "欠薪", "category": "wages"}
    key_ids = {"applicant": "case-1/applicant", "text": "case-1/text"}
    sealed = privacy.seal(data, key_ids, {"case-1/applicant": key, "case-1/text": key})
    assert "标记" not in json.dumps(sealed, ensure_ascii=False)
    assert sealed["applicant"]["id_type"] == "resident_id" and sealed["category"] == "wages"
    assert privacy.sealed_key_ids(sealed) == {"case-1/applicant", "case-1/text"}
    assert privacy.bindings(sealed) == key_ids
    keys = {"case-1/applicant": key, "case-1/text": key}
    assert privacy.open_sealed(sealed, keys) == data
    assert privacy.open_sealed(sealed, {"case-1/text": key})["applicant"]["name"] == privacy.ERASED


def test_a_sealed_value_inside_a_longer_text_opens_in_place():
    key = privacy.new_data_key()
    name = privacy.seal_value("case-1/applicant", key, "张三")
    assert privacy.open_sealed({"p": f"{name}：你好"}, {"case-1/applicant": key}) == {"p": "张三：你好"}
    assert privacy.open_sealed(f"{name}：你好", {}) == "[已删除]：你好"


def test_opening_in_one_walk_pairs_what_it_opens_and_names_the_keys_it_met():
    key, gone = privacy.new_data_key(), privacy.new_data_key()
    awkward = '引号"、反斜杠\\、换行\n'
    sealed_awkward = privacy.seal_value("k1", key, awkward)
    sealed_name = privacy.seal_value("k1", key, "张三")
    data = [
        {"applicant": {"name": sealed_name, "phone": privacy.seal_value("k2", gone, "139")}, "n": 3},
        {"summary": sealed_awkward, "p": f"{sealed_name}：你好", "q": f"见 {sealed_name}", "amount": "12.00"},
        {"text": "未加密的旧文本", "none": None},
    ]
    pairs, used = {}, set()
    opened = privacy.open_tree(data, {"k1": key, "k2": None}.get, pairs, used)
    assert opened == privacy.open_sealed(data, {"k1": key})
    assert opened[1] == {"summary": awkward, "p": "张三：你好", "q": "见 张三", "amount": "12.00"}
    assert opened[0]["applicant"]["phone"] == privacy.ERASED and used == {"k1", "k2"}
    # The strings that start sealed, never the erased ones: as `sealed_pairs` has them.
    expected = {"张三": sealed_name, awkward: sealed_awkward, "张三：你好": f"{sealed_name}：你好"}
    assert pairs == privacy.sealed_pairs(opened, data) == expected


def test_a_value_opened_before_is_not_decrypted_again_until_its_key_is_destroyed(vault, monkeypatch):
    reader = Vault(vault.store, vault.master)  # another process's vault on the one key store
    key_id, key = vault.new_key()
    sealed = privacy.seal_value(key_id, key, "张三")
    event = types.SimpleNamespace(event_id="e-1", data={"applicant": {"name": sealed}, "category": "wages"})
    decrypted = []
    monkeypatch.setattr(privacy, "_decrypt", lambda *args, real=privacy._decrypt: decrypted.append(1) or real(*args))

    first, _ = reader.open_events([event], remember=True)
    first[0]["applicant"]["name"] = "改过的副本"  # a caller's change stays its own
    again, pairs = reader.open_events([event], remember=True)
    assert again[0] == {"applicant": {"name": "张三"}, "category": "wages"} and pairs == {"张三": sealed}
    assert len(decrypted) == 1  # the second time it was not decrypted again

    vault.erase([key_id], "当事人要求删除")
    erased, pairs = reader.open_events([event], remember=True)
    assert erased[0]["applicant"]["name"] == privacy.ERASED and pairs == {}
    assert sealed not in reader._opened_values  # its clear text went with the key
    assert reader.open_events([event], remember=False)[0][0]["applicant"]["name"] == privacy.ERASED


def test_data_keys_are_made_ahead_before_the_pool_runs_out():
    store = InMemoryKeyStore()
    vault = Vault(store, privacy.MasterKey(os.urandom(privacy.KEY_BYTES)), pool_size=8)
    taken = [vault.new_key() for _ in range(7)]  # the first one made a batch of 8 on the spot
    # Below a quarter left (1 of 8), a thread made the next batch: the request did not wait for it.
    deadline = time.monotonic() + 5
    while len(store.rows) < 16 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(store.rows) == 16 and not vault._refilling
    taken += [vault.new_key() for _ in range(9)]
    assert len({key_id for key_id, _ in taken}) == 16 and all(key_id in store.rows for key_id, _ in taken)


def test_a_batch_of_keys_is_stored_wrapped_and_a_case_takes_its_keys_at_once():
    store = InMemoryKeyStore()
    master = privacy.MasterKey(os.urandom(privacy.KEY_BYTES))
    vault = Vault(store, master, pool_size=4)
    taken = vault.new_keys(6)  # more than a batch: two are made on the spot
    assert len({key_id for key_id, _ in taken}) == 6 and len({key for _, key in taken}) == 6
    for key_id, key in taken:
        assert len(key) == privacy.KEY_BYTES and len(key_id) == 32
        assert master.unwrap(key_id, store.rows[key_id]["wrapped"]) == key


def test_the_pools_thread_lets_other_threads_run_between_a_few_keys(monkeypatch):
    from services.common import keystore

    pauses = []
    monkeypatch.setattr(keystore.time, "sleep", pauses.append)
    vault = Vault(InMemoryKeyStore(), privacy.MasterKey(os.urandom(privacy.KEY_BYTES)), pool_size=20)
    assert len(vault._stored_keys()) == 20 and not pauses  # a request that makes them does not pause
    assert len(vault._stored_keys(pause=True)) == 20 and pauses == [0, 0, 0]  # 8, 8 and 4 keys


def test_random_bytes_are_handed_out_once_and_not_shared_with_a_child_process():
    source = privacy.RandomBytes(size=64)
    taken = [source.take(12) for _ in range(38)]  # several draws from the system, and some left
    assert len(set(taken)) == 38 and all(len(nonce) == 12 for nonce in taken)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child takes what the parent would take next, unless it drew afresh
        os.write(writer, source.take(12))
        os._exit(0)
    os.waitpid(child, 0)
    in_child = os.read(reader, 12)
    assert in_child != source.take(12)


def test_recent_keeps_about_its_limit_and_what_is_read_stays():
    recent = Recent(limit=4)  # two generations of two
    recent.update({"a": 1, "b": 2})  # the newer generation is full: it becomes the older
    recent["c"] = 3
    assert recent.get("a") == 1  # read from the older one: written again
    recent["d"] = 4  # full again: the older one ("b") goes
    assert "b" not in recent and all(key in recent for key in "acd") and len(recent) == 3
    assert recent.pop("a") == 1 and "a" not in recent and recent.get("a") is None
    recent.forget(lambda key: key == "c")
    assert "c" not in recent and recent.get("d") == 4 and len(recent) == 1


def test_the_master_key_wraps_keys_bound_to_their_id():
    master = privacy.MasterKey.from_text(privacy.MasterKey.generate_text())
    key = privacy.new_data_key()
    wrapped = master.wrap("case-1/applicant", key)
    assert master.unwrap("case-1/applicant", wrapped) == key
    with pytest.raises(InvalidTag):
        master.unwrap("case-2/applicant", wrapped)


def test_search_tokens_are_keyed_and_whole_case_insensitive():
    one, two = privacy.MasterKey(b"1" * 32), privacy.MasterKey(b"2" * 32)
    assert privacy.search_token(one.search_key, "91x ") == privacy.search_token(one.search_key, "91X")
    assert privacy.search_token(one.search_key, "91X") != privacy.search_token(two.search_key, "91X")


def test_masks():
    assert privacy.mask_id_number("650105199001011234") == "650105********1234"
    assert privacy.mask_id_number("65010519900101123X") == "650105********123X"
    assert privacy.mask_phone("13912345678") == "139****5678"
    assert privacy.mask_phone(privacy.ERASED) == privacy.ERASED


def test_the_master_key_file_is_created_once_with_owner_only_rights(tmp_path):
    env = {"TIAOJIE_MASTER_KEY_FILE": str(tmp_path / "k" / "master.key")}
    with pytest.raises(privacy.MasterKeyMissing):
        privacy.master_key_from_env(env)
    path = privacy.ensure_master_key_file(env)
    first = open(path).read()
    assert privacy.ensure_master_key_file(env) == path and open(path).read() == first
    assert (tmp_path / "k" / "master.key").stat().st_mode & 0o077 == 0
    assert privacy.master_key_from_env(env).search_key


def test_intake_stores_personal_fields_sealed_and_shows_them_opened(uow):
    case_id = register(uow)["case_id"]
    with uow:
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=case_id, decision="accept"), uow)
    text = stored_text(uow)
    assert not [mark for mark in MARKS if mark in text]
    assert text.count(privacy.SEALED_PREFIX) >= 10
    first, accepted = (privacy.bindings(e.data) for e in uow.stored.events)
    assert accepted.items() < first.items() and len(set(first.values())) == 3  # a key per person, kept
    with uow:
        view = handlers.case_view(uow, None, case_id)
        history = handlers.case_history(uow, None, case_id)
    assert view["applicant"] == MARKED and view["description"] == "标记：张三被欠薪"
    assert history["events"][1]["data"]["respondent"] == RESPONDENT


def test_a_cases_persons_keys_are_derived_from_the_one_key_it_stores(uow, vault):
    """One stored key per case: the applicant's, the respondent's and the free text's keys are
    HKDF-Expand of it (RFC 5869), each with its own id, and destroying it erases them all."""
    case_id = register(uow)["case_id"]
    [received] = uow.stored.events
    bound = privacy.bindings(received.data)
    [root] = privacy.case_key_ids([(received.event_type, received.data)])
    assert bound == {
        subject: f"{root}.{label}" for subject, label in (("applicant", "a"), ("respondent", "r"), ("text", "t"))
    }
    root_key = vault.keys([root])[root]
    assert root in vault.store.rows and root_key is not None
    for subject, key_id in bound.items():
        label = key_id.rpartition(".")[2].encode()
        expected = HKDFExpand(hashes.SHA256(), privacy.KEY_BYTES, b"tiaojie data key v1:" + label).derive(root_key)
        assert vault.keys([key_id])[key_id] == expected != root_key, subject
    keys = vault.keys(bound.values())
    assert len(set(keys.values())) == 3
    applicant, payload = received.data["applicant"]["name"][len(privacy.SEALED_PREFIX) :].split(":")
    assert privacy._decrypt(applicant, payload, keys[bound["applicant"]]) == "标记张三"
    with pytest.raises(InvalidTag):  # another person's key of the same case does not open it
        privacy._decrypt(applicant, payload, keys[bound["respondent"]])
    reader = Vault(vault.store, vault.master)  # another process: it has only the key store
    assert reader.open(received.data)["applicant"] == MARKED
    assert Vault(vault.store, vault.master).open_events([received], remember=True)[0][0]["applicant"] == MARKED
    assert vault.erase(bound.values(), "当事人要求删除") == 1  # the one stored key
    assert reader.open(received.data)["applicant"]["name"] == privacy.ERASED
    with uow:
        assert handlers.case_view(uow, None, case_id)["description"] == privacy.ERASED


def test_a_person_who_joins_a_stream_later_gets_a_key_derived_from_its_stored_key(vault):
    bound, cache = {}, {}
    first = vault.seal({"applicant": {"name": "张三"}}, bound, cache)
    taken = len(vault._pool)
    later = vault.seal({"description": "欠薪", "respondent": {"name": "某公司"}}, bound, cache)
    assert len(vault._pool) == taken  # no new stored key
    root = privacy.root_key_id(privacy.key_id_of(first["applicant"]["name"]))
    assert bound == {"applicant": f"{root}.a", "respondent": f"{root}.r", "text": f"{root}.t"}
    assert Vault(vault.store, vault.master).open(later) == {"description": "欠薪", "respondent": {"name": "某公司"}}
    # A stream sealed before derivation began (its keys stored one per person) gets a stored key
    # for a newcomer: the old ids name no stored key to derive from.
    old_id, _ = vault.new_key()
    old = {"applicant": old_id}
    vault.seal({"description": "欠薪"}, old, {})
    assert privacy.stream_root(old) == privacy.root_key_id(old["text"]) != old_id


def test_values_sealed_here_read_back_without_being_decrypted(uow, vault, monkeypatch):
    decrypted = []
    monkeypatch.setattr(privacy, "_decrypt", lambda *args, real=privacy._decrypt: decrypted.append(1) or real(*args))
    case_id = register(uow)["case_id"]
    with uow:
        [received] = uow.events.load(f"case-{case_id}")
    assert decrypted == [] and received.data["applicant"] == MARKED  # as they were sealed
    assert privacy.is_sealed(uow.stored.events[0].data["applicant"]["name"])
    vault.erase(privacy.case_key_ids([(e.event_type, e.data) for e in uow.stored.events]), "当事人要求删除")
    with uow:
        [received] = uow.events.load(f"case-{case_id}")
    assert received.data["applicant"]["name"] == privacy.ERASED and not vault._opened_values


def test_a_copy_keeps_the_sealed_text_it_was_read_as_and_another_persons_key_never_serves(uow):
    application = an_application(
        applicant={**MARKED, "name": "标记王五"},
        respondent={**RESPONDENT, "legal_representative": "标记王五"},  # the same text, another person
    )
    with uow:
        case_id = handlers.register_application(RegisterApplication(application=application), uow)["case_id"]
    with uow:
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=case_id, decision="accept"), uow)
    received, accepted = (e.data for e in uow.stored.events)
    assert accepted["respondent"] == received["respondent"]  # the acceptance's copy, not encrypted anew
    others = [k for k in received["applicant"] if k != "name"]
    assert [accepted["applicant"][k] for k in others] == [received["applicant"][k] for k in others]
    # The applicant's name reads as the legal representative's: that sealed text is another
    # person's key, so the name is sealed anew with the applicant's own.
    name, representative = accepted["applicant"]["name"], accepted["respondent"]["legal_representative"]
    assert privacy.key_id_of(name) == privacy.key_id_of(received["applicant"]["name"])
    assert privacy.key_id_of(name) != privacy.key_id_of(representative)
    assert privacy.bindings(accepted) == privacy.bindings(received)
    with uow:
        view = handlers.case_view(uow, None, case_id)
    assert view["applicant"]["name"] == "标记王五" == view["respondent"]["legal_representative"]


def test_intakes_own_reasons_are_sealed_with_the_cases_text_key_and_read_opened(uow):
    """A refusal's reason, a withdrawal's, and the withdrawal's reason an overruling quotes are
    the parties' free text: sealed with the case's `text` key (the description's), opened in
    the views and the history, and `[已删除]` once the case is erased."""
    refused, withdrawn = register(uow)["case_id"], register(uow)["case_id"]
    with uow:
        reason = "标记：被申请人拒绝调解"
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=refused, decision="reject", reason=reason), uow)
    with uow:
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=withdrawn, decision="accept"), uow)
    with uow:
        handlers.withdraw_application(
            WithdrawApplication(actor=None, case_id=withdrawn, reason="标记：已私下和解"), uow
        )
    with uow:  # the mediation had ended with an agreement before: the withdrawal is overruled
        case = handlers.load_case(uow, withdrawn)
        assert case.note_mediation_end("agreement", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), None, datetime.now(UTC))
        handlers._save(uow, case, "mediation outcome noted")
    assert not [mark for mark in MARKS if mark in stored_text(uow)]
    by_type = {e.event_type: e.data for e in uow.stored.events}
    text_key = privacy.bindings(uow.stored.events[0].data)["text"]
    for event_type, field in (
        ("CaseNotAccepted", "reason"),
        ("ApplicationWithdrawn", "reason"),
        ("WithdrawalOverruled", "withdrawal_reason"),
    ):
        assert privacy.is_sealed(by_type[event_type][field]), event_type
    assert privacy.bindings(by_type["CaseNotAccepted"], "CaseNotAccepted")["text"] == text_key
    assert not privacy.is_sealed(by_type["WithdrawalOverruled"]["reason"])  # the system's own words stay clear
    with uow:
        assert handlers.case_view(uow, None, refused)["decision"]["reason"] == reason
        view = handlers.case_view(uow, None, withdrawn)
        history = handlers.case_history(uow, None, withdrawn)["events"]
    assert view["overruled_withdrawal"]["withdrawal_reason"] == "标记：已私下和解"
    assert [e["data"]["reason"] for e in history if e["event_type"] == "ApplicationWithdrawn"] == ["标记：已私下和解"]
    with uow:
        handlers.erase_personal_data(uow, refused, "申请人要求删除")
    with uow:
        assert handlers.case_view(uow, None, refused)["decision"]["reason"] == privacy.ERASED


def test_a_consultations_topic_is_sealed_with_a_key_of_its_own(uow):
    command = RecordConsultation(actor=None, center_id="huaguangjie", channel="phone", topic="标记：张三问加班费")
    with uow:
        recorded = handlers.record_consultation(command, uow)
    assert recorded["topic"] == "标记：张三问加班费" and "标记" not in stored_text(uow)
    [event] = uow.stored.events
    assert event.data["channel"] == "phone" and privacy.is_sealed(event.data["topic"])
    consultation_keys = privacy.case_key_ids([(event.event_type, event.data)])
    register(uow)  # a case after it: its keys are its own
    case_keys = privacy.case_key_ids([(e.event_type, e.data) for e in uow.stored.events if e.case_id])
    assert len(consultation_keys) == 1 and case_keys and not consultation_keys & case_keys


def test_lists_show_the_id_number_and_phone_masked(uow):
    register(uow)
    [listed] = handlers.list_cases(uow.records, None)["cases"]
    assert listed["applicant_id_number"] == "650105********1234" and listed["applicant_phone"] == "139****5678"
    assert "650105199001011234" not in json.dumps(handlers.list_cases(uow.records, None, q="650105199001011234"))


def test_search_by_id_number_and_credit_code_uses_the_keyed_index(uow, vault):
    register(uow)
    records = uow.records
    assert records.keys and vault.search_token("650105199001011234") in next(iter(records.keys.values()))
    assert handlers.list_cases(records, None, q="650105199001011234")["total"] == 1
    assert handlers.list_cases(records, None, q="91650100ma00000x1x")["total"] == 1
    assert handlers.list_cases(records, None, q="标记张")["total"] == 1


def test_erasure_destroys_the_keys_and_keeps_the_figures(uow):
    case_id = register(uow)["case_id"]
    with uow:
        handlers.erase_personal_data(uow, case_id, "申请人要求删除")
    with uow:
        view = handlers.case_view(uow, None, case_id)
        history = handlers.case_history(uow, None, case_id)
    assert view["applicant"]["name"] == privacy.ERASED and view["applicant"]["id_type"] == "resident_id"
    assert view["description"] == privacy.ERASED and view["claimed_total"] == "15000.50"
    assert view["erasure"]["reason"] == "申请人要求删除"
    assert history["events"][0]["data"]["respondent"]["legal_representative"] == privacy.ERASED
    listed = handlers.list_cases(uow.records, None)["cases"][0]
    assert listed["applicant_name"] == privacy.ERASED
    assert handlers.list_cases(uow.records, None, q="650105199001011234")["total"] == 0
    with uow:
        again = handlers.erase_personal_data(uow, case_id, "again")
    assert again["keys_destroyed"] == 0
    assert [e.event_type for e in uow.stored.events].count("PersonalDataErased") == 1


def test_every_response_showing_personal_data_records_a_look(uow):
    staff = Principal("center", "huaguangjie", "h1")
    case_id = register(uow)["case_id"]
    with uow:
        handlers.case_view(uow, staff, case_id)
        handlers.case_history(uow, staff, case_id)
        found = handlers.list_cases(uow.records, staff, q="标记")
        handlers.record_looks(uow, staff, [c["case_id"] for c in found["cases"]], "GET /api/v1/cases")
        handlers.case_view(uow, None, case_id)  # a trusted internal caller: not a look
    with uow:
        looks = handlers.case_looks(uow, Principal("district", None, "h3"), case_id)["looks"]
    assert [look["route"] for look in looks] == [
        "GET /api/v1/cases/{case_id}",
        "GET /api/v1/cases/{case_id}/history",
        "GET /api/v1/cases",
    ]
    assert looks[0]["actor"] == {"token": "center:huaguangjie"} and looks[0]["looked_at"]
    with pytest.raises(Forbidden), uow:
        handlers.case_looks(uow, Principal("center", "longshengjie", "h2"), case_id)


def test_the_district_and_a_centers_head_list_the_looks_one_account_took(uow):
    def person(role, center_id, login):
        identity = {"account_id": f"id-{login}", "login": login, "name": "王某", "role": role}
        return Principal("district" if role == "district" else "center", center_id, f"hash-{login}", person=identity)

    clerk = person("staff", "huaguangjie", "wang.staff")
    here, there = register(uow)["case_id"], register(uow)["case_id"]
    with uow:
        uow.records.cases[there][0]["center_id"] = "longshengjie"  # a case of another center
        handlers.case_view(uow, clerk, here)
        handlers.case_history(uow, clerk, here)
        handlers.record_looks(uow, person("staff", "longshengjie", "wang.staff"), [there], "GET /api/v1/cases")
        handlers.case_view(uow, person("staff", "huaguangjie", "li.staff"), here)  # another person's look
    with uow:
        every = handlers.account_looks(uow, person("district", None, "qian.district"), "wang.staff")["looks"]
        own = handlers.account_looks(uow, person("head", "huaguangjie", "zhao.head"), "wang.staff")["looks"]
    assert [(look["case_id"], look["route"]) for look in every] == [
        (there, "GET /api/v1/cases"),
        (here, "GET /api/v1/cases/{case_id}/history"),
        (here, "GET /api/v1/cases/{case_id}"),
    ]  # the newest first
    assert [look["case_id"] for look in own] == [here, here]  # the head sees their own center's cases
    assert own[0]["case_number"] and own[0]["actor"]["login"] == "wang.staff"
    with pytest.raises(Forbidden), uow:  # a clerk does not see whose looks these are
        handlers.account_looks(uow, clerk, "wang.staff")


def test_intakes_copy_of_a_withdrawal_in_mediation_keeps_its_reason_sealed_and_erasable(uow):
    # issue 15 finding 4: intake notes mediation's withdrawal with the party's reason
    from services.common.envelope import Event

    case_id = register(uow)["case_id"]
    with uow:
        handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=case_id, decision="accept"), uow)
    at = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    data = {
        "case_id": case_id,
        "center_id": "huaguangjie",
        "reason": "标记：张三已拿到工资",
        "withdrawn_at": at.isoformat(),
    }
    withdrawn = Event(
        "e-1", "MediationWithdrawn", 1, f"mediation-{case_id}", 2, case_id, "huaguangjie", at, at, "c", None, data
    )
    with uow:
        handlers.record_mediation_end(uow, withdrawn)

    assert "标记" not in stored_text(uow)
    with uow:
        assert handlers.case_view(uow, None, case_id)["withdrawal"]["reason"] == "标记：张三已拿到工资"
    with uow:
        handlers.erase_personal_data(uow, case_id, "申请人要求删除")
    with uow:
        assert handlers.case_view(uow, None, case_id)["withdrawal"]["reason"] == privacy.ERASED
