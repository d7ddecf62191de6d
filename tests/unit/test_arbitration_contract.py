"""The link's published contract: schemas, AsyncAPI document, broker definitions, the court's answers."""

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from services.arbitration_link import contract, topology
from services.arbitration_link.court import AnsweredMessages, Court, default_uri

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = contract.HERE / "asyncapi.yaml"
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("path", sorted(contract.HERE.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_schema_is_a_valid_draft_2020_12_schema(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_asyncapi_document_describes_every_message_with_its_schema_file():
    document = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    assert document["channels"]["referrals"]["address"] == contract.OUTBOUND_EXCHANGE
    assert document["channels"]["replies"]["address"] == contract.REPLIES_EXCHANGE
    messages = document["components"]["messages"]
    named = {m["name"]: m for m in messages.values()}
    assert set(named) == set(contract.MESSAGE_KINDS)
    for kind, message in named.items():
        schema_file = contract.HERE / message["payload"]["schema"]["$ref"]
        assert schema_file == contract.schema_path(kind).resolve().parent / schema_file.name
        assert schema_file.exists(), schema_file
    for channel in document["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].removeprefix("#/components/messages/") in messages


def test_the_deployment_definitions_hold_the_link_topology_and_the_institute_user():
    wanted = topology.definitions()
    loaded = json.loads(DEFINITIONS.read_text(encoding="utf-8"))

    def keyed(entries, *keys):
        return {tuple(e[k] for k in keys): e for e in entries}

    for section, keys in (
        ("exchanges", ("name",)),
        ("queues", ("name",)),
        ("bindings", ("source", "destination", "routing_key")),
        ("permissions", ("user", "vhost")),
    ):
        have = keyed(loaded[section], *keys)
        for key, entry in keyed(wanted[section], *keys).items():
            assert have.get(key) == entry, f"{section} {key}"
    assert topology.INSTITUTE_USER in {u["name"] for u in loaded["users"]}


def test_the_institute_may_only_read_referrals_and_write_replies():
    permissions = topology.INSTITUTE_PERMISSIONS
    assert permissions["configure"] == "^$"
    import re

    assert re.search(permissions["read"], "arbitration.referrals")
    assert not re.search(permissions["read"], "arbitration.referrals.dead")
    assert re.search(permissions["write"], "arbitration.replies")
    assert not re.search(permissions["write"], "arbitration.outbound")


def test_the_vhost_comes_from_the_amqp_uri():
    assert topology.vhost_of("amqp://guest:guest@127.0.0.1:5672/tj_x") == "tj_x"
    assert topology.vhost_of("amqp://guest:guest@127.0.0.1:5672/") == "/"
    assert topology.vhost_of("amqp://guest:guest@127.0.0.1:5672/%2F") == "/"
    assert default_uri({"AMQP_URI": "amqp://guest:guest@rabbit:5673/tj_x"}) == (
        "amqp://arbitration:arbitration@rabbit:5673/tj_x"
    )


# --- the reference court --------------------------------------------------------------


def court(policy="confirm", **kwargs):
    return Court(random.Random(3), lambda: NOW, AnsweredMessages(), policy=policy, **kwargs)


REFERRAL = {"referral_id": "6d1c4f0e-3b7a-4a43-9f0e-7a1b2c3d4e5f"}


def test_the_court_dockets_referrals_with_valid_replies():
    kind, body = court().answer("referral", REFERRAL)
    assert kind == "referral.docketed"
    contract.validate(kind, body)


def test_the_court_declines_by_ratio():
    kind, body = court(decline_ratio=1.0).answer("referral", REFERRAL)
    assert kind == "referral.declined"
    contract.validate(kind, body)


@pytest.mark.parametrize("policy,decision", [("confirm", "confirmed"), ("refuse", "refused")])
def test_the_court_decides_reviews_by_policy(policy, decision):
    kind, body = court(policy).answer("review_request", REFERRAL)
    assert (kind, body["decision"]) == ("review.decided", decision)
    contract.validate(kind, body)


def test_a_random_policy_follows_the_confirm_ratio_and_the_seed():
    decisions = [court("random", confirm_ratio=0.5).answer("review_request", REFERRAL)[1]["decision"] for _ in range(3)]
    assert len(set(decisions)) == 1  # same seed, same choice
    many = Court(random.Random(1), lambda: NOW, AnsweredMessages(), policy="random", confirm_ratio=0.7)
    confirmed = sum(many.answer("review_request", REFERRAL)[1]["decision"] == "confirmed" for _ in range(400))
    assert 230 < confirmed < 330


def test_the_court_remembers_its_answers_by_message_id(tmp_path):
    path = tmp_path / "court.sqlite"
    AnsweredMessages(path).remember("m-1", "referral.docketed", {"arbitration_case_no": "ARB-1"})
    assert AnsweredMessages(path).answer_for("m-1") == ("referral.docketed", {"arbitration_case_no": "ARB-1"})
    assert AnsweredMessages(path).answer_for("m-2") is None


def test_the_courts_recommendation_letters_match_the_schema():
    letter = court().recommendation("huaguangjie")
    contract.validate("recommendation.issued", letter)
