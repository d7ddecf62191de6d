"""arbitration_link running, against real RabbitMQ and PostgreSQL, with `tiaojie court` as the institute.

The tests publish intake's and mediation's events themselves, exactly as those services'
relays do, so the link is tested on its own. Every test uses a case of its own; the
referrals queue is shared, so messages are picked out by `message_id`.
"""

import json
import time

import amqp
import kombu
import pytest

from services.arbitration_link import contract
from services.arbitration_link.court import default_uri
from services.arbitration_link.domain import referral_id_for
from services.common.clock import FileOffsetClock
from services.common.envelope import dumps
from tests import support
from tests.unit.test_arbitration_domain import CaseStory

ONE_HOUR_AND_A_BIT = 3700


class MovableClock:
    """The link's clock (`TIAOJIE_CLOCK_FILE`); only ever moved forward, by every test of the module."""

    def __init__(self, path):
        self.path = str(path)
        self.offset = 0
        FileOffsetClock.move(self.path, 0)

    def advance(self, seconds):
        self.offset += seconds
        FileOffsetClock.move(self.path, self.offset)


@pytest.fixture(scope="module")
def clock(tmp_path_factory):
    return MovableClock(tmp_path_factory.mktemp("arbitration_link") / "clock-offset")


@pytest.fixture(scope="module")
def link_env(clock):
    return {"TIAOJIE_CLOCK_FILE": clock.path, "TIAOJIE_REFERRAL_SWEEP_SECONDS": "0.3"}


@pytest.fixture(scope="module")
def link(infrastructure, link_env):
    with support.ServiceProcess("arbitration_link", env=link_env) as service:
        yield service


# --- helpers --------------------------------------------------------------------------


def publish(events):
    """Publishes events as intake's and mediation's relays do: envelope body, event type as routing key."""
    with support.amqp_connection() as conn:
        channel = conn.channel()
        for event in events:
            source = "intake" if event.stream_id.startswith("case-") else "mediation"
            message = amqp.Message(
                dumps(event.to_envelope()).encode("utf-8"),
                content_type="application/json",
                delivery_mode=2,
                message_id=event.event_id,
                type=event.event_type,
                application_headers={"schema_version": event.schema_version},
            )
            channel.basic_publish(message, exchange=f"{source}.events", routing_key=event.event_type)


def take_referrals(message_id, expect, timeout=15.0):
    """Takes messages off `arbitration.referrals` until `expect` with this message_id came (or the time is up)."""
    found = []
    deadline = time.monotonic() + timeout
    with support.amqp_connection() as conn:
        channel = conn.channel()
        while time.monotonic() < deadline and not (expect and len(found) >= expect):
            message = channel.basic_get(contract.REFERRALS_QUEUE)
            if message is None:
                time.sleep(0.1)
                continue
            channel.basic_ack(message.delivery_tag)
            if message.properties.get("message_id") == message_id:
                found.append(message)
    return found


def referral(link, token, referral_id):
    status, body, _ = support.http("GET", f"{link.url()}/api/v1/referrals/{referral_id}", token=token)
    assert status == 200, body
    return body


def wait_for_referral(link, token, referral_id, **expected):
    def matches():
        status, body, _ = support.http("GET", f"{link.url()}/api/v1/referrals/{referral_id}", token=token)
        return body if status == 200 and all(body.get(k) == v for k, v in expected.items()) else None

    return support.wait_for(matches, timeout=20, message=f"referral {referral_id} with {expected}")


def outbound_backlog(link):
    """Events the outbound relay has not yet published (from the link's /metrics)."""
    _, text, _ = support.http("GET", f"{link.url()}/metrics")
    for line in text.splitlines():
        if line.startswith("tiaojie_relay_backlog_events") and 'relay="arbitration.outbound"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def court(link, *args):
    """Runs `tiaojie court`, once every referral is out, until the referrals queue is idle;
    returns its report lines."""
    support.wait_for(lambda: outbound_backlog(link) == 0, message="the outbound relay caught up")
    result = support.cli("court", "--once", "--idle-seconds", "1.5", *args, timeout=60)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def dead_replies():
    with support.amqp_connection() as conn:
        _, count, _ = conn.channel().queue_declare(f"{contract.REPLIES_QUEUE}.dead", passive=True)
        return count


def reply_as_institute(routing_key, body):
    """Publishes a reply as the `arbitration` user would (raw bytes allowed, to send garbage)."""
    with kombu.Connection(default_uri(support.test_env())) as conn:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        conn.channel().basic_publish_confirm(
            amqp.Message(raw, content_type="application/json", delivery_mode=2),
            exchange=contract.REPLIES_EXCHANGE,
            routing_key=routing_key,
        )


# --- what it must show ----------------------------------------------------------------


def test_a_failed_mediation_sends_one_referral_with_the_parties_and_the_mediation_record(link):
    story = CaseStory()
    events = story.failed_mediation(sessions=2)
    publish(events[-1:] + events[:-1])  # the decision overtakes the record it must carry
    referral_id = referral_id_for(story.case_id, "referral", "mediation_failed")

    [message] = take_referrals(referral_id, expect=1)
    assert message.properties["type"] == "referral"
    assert message.properties["content_type"] == "application/json"
    assert message.properties["delivery_mode"] == 2
    assert message.properties["application_headers"]["schema_version"] == 1
    assert message.delivery_info["routing_key"] == "referral"
    body = json.loads(message.body)
    contract.validate("referral", body)
    assert body["referral_id"] == referral_id and body["case_id"] == story.case_id
    assert body["applicant"] == story.applicant and body["respondent"] == story.respondent
    assert [s["summary"] for s in body["mediation"]["sessions"]] == ["session 1", "session 2"]
    assert body["mediation"]["mediator"]["certificate_no"] == "XJTJ2026HGJ0001"
    assert take_referrals(referral_id, expect=0, timeout=1.5) == []


def test_an_unanswered_referral_is_resent_with_the_same_message_id_exactly_once_by_two_instances(
    link, link_env, clock, tokens
):
    story = CaseStory()
    with support.ServiceProcess("arbitration_link", env=link_env):
        publish([story.application(), story.accepted(), story.opened(), story.expired()])
        referral_id = referral_id_for(story.case_id, "referral", "mediation_expired")
        wait_for_referral(link, tokens["admin"], referral_id, sends=1)
        clock.advance(ONE_HOUR_AND_A_BIT)
        wait_for_referral(link, tokens["admin"], referral_id, sends=2)
        time.sleep(1.5)  # several sweeps of both instances
        assert referral(link, tokens["admin"], referral_id)["sends"] == 2

    # The court takes both copies: it dockets the first and answers the second the same way.
    lines = court(link)
    answers = [line for line in lines if line["message_id"] == referral_id]
    assert [(a["action"], a["repeated"]) for a in answers] == [
        ("referral.docketed", False),
        ("referral.docketed", True),
    ]
    assert answers[0]["arbitration_case_no"] == answers[1]["arbitration_case_no"]
    docketed = wait_for_referral(link, tokens["admin"], referral_id, status="docketed")
    assert docketed["arbitration_case_no"] == answers[0]["arbitration_case_no"]
    history = [entry["event_type"] for entry in docketed["history"]]
    assert history == ["ReferralOpened", "ReferralSent", "ReferralSent", "ReferralDocketed"]
    clock.advance(3 * ONE_HOUR_AND_A_BIT)
    time.sleep(1)
    assert referral(link, tokens["admin"], referral_id)["sends"] == 2  # answered: never sent again


def test_a_review_request_confirmed_by_the_court_is_recorded(link, tokens):
    story = CaseStory(center_id="huaguangjie")
    publish(story.review())
    referral_id = referral_id_for(story.case_id, "review_request", None)
    wait_for_referral(link, tokens["admin"], referral_id, sends=1)

    answers = [line for line in court(link, "--policy", "confirm") if line["message_id"] == referral_id]
    assert [(a["action"], a["decision"]) for a in answers] == [("review.decided", "confirmed")]
    confirmed = wait_for_referral(link, tokens["huaguangjie"], referral_id, status="confirmed")
    assert confirmed["type"] == "review_request"
    assert confirmed["document_no"] == answers[0]["document_no"]
    assert confirmed["history"][-1]["event_type"] == "ReviewDecided"


def test_staff_read_only_their_own_centers_referrals(link, tokens):
    story = CaseStory(center_id="huaguangjie")
    publish([story.application(), story.not_accepted()])
    referral_id = referral_id_for(story.case_id, "referral", "not_accepted")
    wait_for_referral(link, tokens["huaguangjie"], referral_id, sends=1)
    url = f"{link.url()}/api/v1/referrals"

    assert support.http("GET", f"{url}/{referral_id}", token=tokens["longshengjie"])[0] == 403
    assert support.http("GET", f"{url}?case_id={story.case_id}", token=tokens["longshengjie"])[0] == 403
    assert support.http("GET", f"{url}/{referral_id}", token=tokens["district"])[0] == 200
    status, listed, _ = support.http("GET", f"{url}?case_id={story.case_id}", token=tokens["huaguangjie"])
    assert status == 200
    assert [(r["referral_id"], r["type"], r["status"]) for r in listed["referrals"]] == [
        (referral_id, "referral", "pending")
    ]
    status, others, _ = support.http("GET", url, token=tokens["longshengjie"])
    assert status == 200 and all(r["center_id"] == "longshengjie" for r in others["referrals"])
    assert support.http("GET", f"{url}/{referral_id}")[0] == 401
    assert support.http("GET", f"{url}/not-a-referral", token=tokens["admin"])[0] == 404


def test_an_invalid_reply_is_dead_lettered_and_the_next_valid_reply_still_processed(link, tokens):
    story = CaseStory()
    publish([story.application(), story.not_accepted()])
    referral_id = referral_id_for(story.case_id, "referral", "not_accepted")
    [message] = take_referrals(referral_id, expect=1)
    body = json.loads(message.body)
    contract.validate("referral", body)
    assert body["reason"] == "not_accepted" and body["mediation"] is None

    dead_before = dead_replies()
    reply_as_institute("referral.docketed", b"{not json")
    reply_as_institute("referral.docketed", {"referral_id": referral_id, "arbitration_case_no": "ARB-X"})
    reply_as_institute(
        "referral.docketed",
        {
            "referral_id": "00000000-0000-4000-8000-000000000000",
            "arbitration_case_no": "ARB-X",
            "docketed_at": "2026-03-10T10:00:00Z",
        },
    )
    reply_as_institute(
        "review.decided", {"referral_id": referral_id, "decision": "confirmed", "decided_at": "2026-03-10T10:00:00Z"}
    )
    reply_as_institute(
        "referral.docketed",
        {
            "referral_id": referral_id,
            "arbitration_case_no": "ARB-2026-77777",
            "docketed_at": "2026-03-10T10:00:00+08:00",
        },
    )

    docketed = wait_for_referral(link, tokens["admin"], referral_id, status="docketed")
    assert docketed["arbitration_case_no"] == "ARB-2026-77777"
    support.wait_for(lambda: dead_replies() - dead_before >= 4, message="four replies dead-lettered")
    assert [e["event_type"] for e in docketed["history"]].count("ReferralDocketed") == 1


def test_finding3_default_of_confirmed_agreement_is_never_referred(link, tokens):
    """A confirmed agreement's default belongs to a court (Art. 51): nothing goes to the institute."""
    confirmed = CaseStory()
    publish(confirmed.confirmed_and_defaulted())
    unconfirmed = CaseStory()  # the control: the same path without the confirmation is referred
    publish([*unconfirmed.review(), unconfirmed.review_outcome("refused", None), unconfirmed.defaulted()])

    referred = referral_id_for(unconfirmed.case_id, "referral", "agreement_defaulted")
    assert len(take_referrals(referred, expect=1)) == 1
    review = referral_id_for(confirmed.case_id, "review_request", None)
    wait_for_referral(link, tokens["admin"], review, sends=1)  # the confirmed case's events all arrived

    never = referral_id_for(confirmed.case_id, "referral", "agreement_defaulted")
    assert take_referrals(never, expect=0, timeout=2.0) == []
    url = f"{link.url()}/api/v1/referrals"
    assert support.http("GET", f"{url}/{never}", token=tokens["admin"])[0] == 404
    status, listed, _ = support.http("GET", f"{url}?case_id={confirmed.case_id}", token=tokens["admin"])
    assert status == 200 and [r["type"] for r in listed["referrals"]] == ["review_request"]
