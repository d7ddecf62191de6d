"""CONTRACTS §9 across the running services: marked personal values go in through the staff
APIs (intake's and mediation's), and no database table (read as text), internal message or
service log carries them in clear; after `tiaojie privacy erase` no database holds them at
all, the case, its mediation and its documents say [已删除], and the figures stay the same."""

import json
import subprocess
import urllib.request
from datetime import UTC, date, datetime, timedelta

import kombu
import psycopg2

from services.arbitration_link import contract
from services.common.config import database_url
from services.intake.identifiers import credit_code_check_character, resident_id_check_digit
from services.metrics.readmodel import TABLES
from tests import support
from tests.integration.test_arbitration_link import reply_as_institute
from tests.integration.test_arbitration_recommendation import recommended_cases, send_letter

CENTER = "longshengjie"
RESIDENT_ID = "65010219770707123" + resident_id_check_digit("65010219770707123")
CREDIT_CODE = "91650102MA8B4C6D7" + credit_code_check_character("91650102MA8B4C6D7")
NAME = "标记甲乙丙"
MARKS = (NAME, RESIDENT_ID, "13987650123", "标记地址巷", "标记丁戊", "标记的描述", "标记商贸有限公司", CREDIT_CODE)
# Mediation's: free text of the case, and a mediator's name (sealed with the mediator's own key).
MEDIATOR_NAME = "标记调解员"
SUMMARY, TERMS, COMMENT, COMPLAINT = "标记的调解笔录", "标记的协议条款", "标记的满意度评价", "标记的投诉内容"
MEDIATION_MARKS = (MEDIATOR_NAME, SUMMARY, TERMS, COMMENT, COMPLAINT)
# Intake's own free text: a refusal's reason (the notice prints it, the institute reads it) and a withdrawal's.
REFUSAL, WITHDRAWAL = "标记的拒绝理由", "标记的撤回理由"
REASON_MARKS = (REFUSAL, WITHDRAWAL)
# A consultation's topic: free text about no case, which may name the person who asked.
TOPIC = "标记的咨询：张某问加班费怎么算"
# The institute's free text about the case: why it refused to confirm the agreement.
REVIEW_REASON = "标记的复核意见：协议第二条与标记甲乙丙的陈述不符"
ALL_MARKS = (*MARKS, *MEDIATION_MARKS, *REASON_MARKS, TOPIC, REVIEW_REASON)
AGREEMENT_KEY = {"Idempotency-Key": "privacy-agreement-1"}
# The case list keeps the parties' names for search by part of a name: purged on erasure.
PURGED_READ_MODEL = "intake_cases"


def call(url, method, path, token, body=None, **headers):
    status, payload, _ = support.http(method, url + path, body=body, token=token, headers=headers)
    assert status in (200, 201), (method, path, status, payload)
    return payload


def found_in_databases(marks, prefix=None):
    """`{(database, table): [marks]}` for every table of the test's databases, read as text."""
    admin = psycopg2.connect(support.DATABASE_URL.rsplit("/", 1)[0] + "/postgres")
    with admin, admin.cursor() as cursor:
        # `<prefix>_<store>` only: not another namespace that merely starts the same (tj_x6 for tj_x).
        escaped = (prefix or support.NAMESPACE).replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (escaped + "\\_%",))
        names = [row[0] for row in cursor.fetchall()]
    admin.close()
    found = {}
    for name in names:
        conn = psycopg2.connect(support.DATABASE_URL.rsplit("/", 1)[0] + "/" + name)
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            for (table,) in cursor.fetchall():
                cursor.execute(f'SELECT t::text FROM "{table}" t')
                text = "\n".join(row[0] for row in cursor.fetchall())
                hits = [mark for mark in marks if mark in text]
                if hits:
                    found[(name, table)] = hits
        conn.close()
    return found


def metrics_figures(env=None):
    """The metrics read model rebuilt by `tiaojie replay metrics` from every event store."""
    support.cli("replay", "metrics", "--no-progress", env=env)
    conn = psycopg2.connect(database_url("metrics", env))
    with conn, conn.cursor() as cursor:
        figures = {}
        for table in TABLES:
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table.name} t ORDER BY 1")
            figures[table.name] = [row[0] for row in cursor.fetchall()]
    conn.close()
    return figures


def pdf_text(url, token, path):
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
    result = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return result.stdout.decode("utf-8").replace(" ", "")


def sign_again(mediation, token, case_id):
    """The agreement's request again with its Idempotency-Key: the first response, replayed."""
    agreement = {
        "terms": TERMS,
        "amount": "8000.00",
        "performance_due": (date.today() + timedelta(days=10)).isoformat(),
    }
    path = f"{mediation}/api/v1/cases/{case_id}/agreement"
    status, replayed, headers = support.http("POST", path, agreement, token=token, headers=AGREEMENT_KEY)
    assert (status, headers.get("Idempotent-Replayed")) == (200, "true"), (status, replayed)
    return replayed


def institute_message(case_id):
    """The body of a referral of the case on `arbitration.referrals`, as the institute reads it, or None."""
    with support.amqp_connection() as conn:
        channel = conn.channel()
        while (message := channel.basic_get(contract.REFERRALS_QUEUE)) is not None:
            channel.basic_ack(message.delivery_tag)
            body = message.body.decode("utf-8") if isinstance(message.body, bytes) else message.body
            if json.loads(body).get("case_id") == case_id:
                return body
    return None


def review_decided(link, token, referral_id):
    """The link's referral once the institute's decision is recorded, or None."""
    status, shown, _ = support.http("GET", f"{link}/api/v1/referrals/{referral_id}", token=token)
    return shown if status == 200 and shown["history"][-1]["event_type"] == "ReviewDecided" else None


def issue(documents, token, case_id, kind):
    """Issues a document of `kind` once the case file allows it: its PDF's path."""
    listing = f"{documents}/api/v1/cases/{case_id}/documents"

    def allowed():
        status, answer, _ = support.http("GET", listing, token=token)
        return status == 200 and kind in answer["kinds_allowed"]

    support.wait_for(allowed, timeout=30, message=f"{kind} allowed by the case file")
    issued = call(documents, "POST", f"/api/v1/cases/{case_id}/documents", token, {"kind": kind})
    return f"/api/v1/documents/{issued['document_id']}.pdf"


def test_marked_values_are_sealed_everywhere_and_gone_after_erasure(infrastructure, tokens):
    token = support.issue_token("--center", CENTER)
    captured = []
    with support.amqp_connection() as conn:
        channel = conn.channel()
        queue = kombu.Queue("privacy-capture", exclusive=True, auto_delete=True)
        queue = queue(channel)
        queue.declare()
        for source in ("intake", "mediation", "documents", "arbitration_link"):
            exchange = kombu.Exchange(f"{source}.events", type="topic", durable=True)(channel)
            exchange.declare()
            queue.bind_to(exchange=f"{source}.events", routing_key="#")

        debug = {"TIAOJIE_LOG_LEVEL": "DEBUG"}
        with support.ServiceProcess("intake", "mediation", "documents", "arbitration_link", env=debug) as services:
            intake, mediation, documents = (services.url(n) for n in ("intake", "mediation", "documents"))
            case = call(
                intake,
                "POST",
                "/api/v1/cases",
                token,
                {
                    "center_id": CENTER,
                    "channel": "walk_in",
                    "source": "self",
                    "category": "wages",
                    "applicant": {
                        "name": NAME,
                        "id_type": "resident_id",
                        "id_number": RESIDENT_ID,
                        "phone": "13987650123",
                        "address": "标记地址巷1号",
                    },
                    "respondent": {
                        "name": "标记商贸有限公司",
                        "credit_code": CREDIT_CODE,
                        "legal_representative": "标记丁戊",
                    },
                    "claims": [{"item": "工资", "amount": "8000.00"}],
                    "workers_involved": 1,
                    "description": "标记的描述：欠薪三个月",
                },
                **{"Idempotency-Key": "privacy-case-1"},  # its response is kept, sealed
            )
            case_id = case["case_id"]
            consultation = {"center_id": CENTER, "channel": "phone", "topic": TOPIC}
            assert call(intake, "POST", "/api/v1/consultations", token, consultation)["topic"] == TOPIC
            call(intake, "POST", f"/api/v1/cases/{case_id}/acceptance", token, {"decision": "accept"})
            pdf_path = issue(documents, token, case_id, "acceptance_notice")
            assert NAME in pdf_text(documents, token, pdf_path)
            view = call(intake, "GET", f"/api/v1/cases/{case_id}", token)
            assert view["applicant"]["phone"] == "13987650123" and view["description"].startswith("标记的描述")
            [hit] = call(intake, "GET", f"/api/v1/cases?q={RESIDENT_ID}", token)["cases"]
            assert hit["applicant_id_number"] == RESIDENT_ID[:6] + "********" + RESIDENT_ID[-4:]
            assert hit["applicant_phone"] == "139****0123" and RESIDENT_ID not in json.dumps(hit)
            support.wait_for(
                lambda: support.http("GET", f"{mediation}/api/v1/cases/{case_id}", token=token)[0] == 200,
                message="the mediation opened",
            )
            agreement_pdf = mediate(mediation, documents, token, case_id)
            # The institute's message (the boundary, CONTRACTS §4): the link opens what it sends.
            review = support.wait_for(lambda: institute_message(case_id), timeout=30, message="the review referral")
            assert TERMS in review and MEDIATOR_NAME in review and "tj:sealed:" not in review
            # The institute refuses to confirm it, with a reason of its own words (free text).
            review_id, link = json.loads(review)["referral_id"], services.url("arbitration_link")
            decided = {"referral_id": review_id, "decision": "refused", "reason": REVIEW_REASON}
            reply_as_institute("review.decided", {**decided, "decided_at": datetime.now(UTC).isoformat()})
            shown = support.wait_for(lambda: review_decided(link, token, review_id), timeout=30, message="the decision")
            assert shown["status"] == "refused" and shown["history"][-1]["reason"] == REVIEW_REASON
            support.wait_for(
                lambda: call(mediation, "GET", f"/api/v1/cases/{case_id}", token)["review"]["reason"] == REVIEW_REASON,
                message="mediation's copy of the decision",
            )
            refused, notice_pdf = refuse_and_withdraw(intake, mediation, documents, token)

            def drain():
                while (message := queue.get(no_ack=True)) is not None:
                    captured.append(message.body.decode("utf-8"))
                return any("DocumentIssued" in body for body in captured)

            support.wait_for(drain, timeout=20, message="the events captured")
            assert len(captured) >= 4
            support.wait_for(lambda: drain() and any("ComplaintFiled" in body for body in captured), timeout=20)
            support.wait_for(lambda: drain() and any("MediationWithdrawn" in body for body in captured), timeout=20)
            support.wait_for(lambda: drain() and any("ReviewOutcomeRecorded" in body for body in captured), timeout=20)
            leaked = [mark for mark in ALL_MARKS if any(mark in body for body in captured)]
            assert leaked == [], leaked
            assert any("tj:sealed:v1:" in body for body in captured)

            found = found_in_databases(ALL_MARKS)
            assert {table for _, table in found} <= {PURGED_READ_MODEL}, found
            assert all(set(hits) <= {NAME, "标记商贸有限公司"} for hits in found.values()), found
            logged = open(services.log_path, encoding="utf-8").read()
            assert "mediation opened" in logged  # the services' own log, captured
            assert [mark for mark in ALL_MARKS if mark in logged] == []

            district = tokens["district"]
            looks = call(intake, "GET", f"/api/v1/cases/{case_id}/looks", district)["looks"]
            routes = [look["route"] for look in looks]
            assert {"GET /api/v1/cases/{case_id}", "GET /api/v1/cases"} <= set(routes)
            support.wait_for(  # the link's read of the institute's reason, reported through the bus
                lambda: (
                    "arbitration_link GET /api/v1/referrals/{referral_id}"
                    in {
                        look["route"]
                        for look in call(intake, "GET", f"/api/v1/cases/{case_id}/looks", district)["looks"]
                    }
                ),
                message="the link's look",
            )
            assert looks[0]["actor"] == {"token": f"center:{CENTER}"}
            other = support.issue_token("--center", "huaguangjie")
            assert support.http("GET", f"{intake}/api/v1/cases/{case_id}/looks", token=other)[0] == 403

            # The institute's recommendation letter: the link records it, intake opens a case from it.
            letter_id = json.loads(send_letter(seed=9917))["recommendation_id"]
            [recommended] = support.wait_for(
                lambda: recommended_cases(intake, tokens["admin"], letter_id), timeout=30, message="the letter's case"
            )
            parties = (recommended["applicant"], recommended["respondent"])
            # The values no other test's data can share (names and jobs come from short lists).
            unique = ("id_number", "phone", "address", "credit_code", "contact")
            letter_marks = [v for party in parties for k, v in party.items() if k in unique and v]
            assert len(letter_marks) >= 3, letter_marks
            found = found_in_databases(letter_marks)
            assert {table for _, table in found} <= {PURGED_READ_MODEL}, found
            support.wait_for(lambda: drain() and any("RecommendationReceived" in b for b in captured), timeout=20)
            assert [m for m in letter_marks if any(m in body for body in captured)] == []

            figures = metrics_figures()
            assert any(case_id in row for row in figures["metrics_cases"])
            erased = support.cli("privacy", "erase", "--case", case_id, "--reason", "当事人要求删除")
            # The stored keys of the case in intake (its parties' and free text's keys derive from
            # it), of its mediation's free text and of the complaint's; not the mediator's.
            assert json.loads(erased.stdout.strip().splitlines()[-1])["keys_destroyed"] == 3
            support.cli("privacy", "erase", "--case", recommended["case_id"], "--reason", "当事人要求删除")

            assert found_in_databases([*MARKS, *letter_marks]) == {}
            support.cli("privacy", "erase", "--case", refused, "--reason", "当事人要求删除")
            assert call(intake, "GET", f"/api/v1/cases/{refused}", token)["decision"]["reason"] == "[已删除]"
            text = pdf_text(documents, token, notice_pdf)
            assert "[已删除]" in text and REFUSAL not in text
            assert found_in_databases([REFUSAL]) == {}
            view = call(intake, "GET", f"/api/v1/cases/{case_id}", token)
            assert view["applicant"]["name"] == "[已删除]" and view["applicant"]["phone"] == "[已删除]"
            assert view["claimed_total"] == "8000.00" and view["status"] == "accepted"
            history = call(intake, "GET", f"/api/v1/cases/{case_id}/history", token)
            assert history["events"][0]["data"]["respondent"]["legal_representative"] == "[已删除]"
            text = pdf_text(documents, token, pdf_path)
            assert "[已删除]" in text and NAME not in text
            text = pdf_text(documents, token, agreement_pdf)
            assert "[已删除]" in text and TERMS not in text and NAME not in text
            assert MEDIATOR_NAME in text  # the mediator's name is the mediator's, not the case's
            assert sign_again(mediation, token, case_id)["agreement"]["terms"] == "[已删除]"
            assert review_decided(link, token, review_id)["history"][-1]["reason"] == "[已删除]"
            assert call(mediation, "GET", f"/api/v1/cases/{case_id}", token)["review"]["reason"] == "[已删除]"
            assert found_in_databases([REVIEW_REASON]) == {}
            erased_view = call(mediation, "GET", f"/api/v1/cases/{case_id}", token)
            assert erased_view["sessions"][0]["summary"] == "[已删除]" == erased_view["agreement"]["terms"]
            assert erased_view["survey"]["comment"] == "[已删除]" and erased_view["agreement"]["amount"] == "8000.00"
            assert erased_view["mediator"]["mediator_name"] == MEDIATOR_NAME
            events = call(mediation, "GET", f"/api/v1/cases/{case_id}/history", token)["events"]
            texts = [e["data"].get("summary") or e["data"].get("terms") for e in events]
            assert texts.count("[已删除]") == 2 and not {SUMMARY, TERMS} & set(texts)
            assert call(intake, "GET", f"/api/v1/cases?q={RESIDENT_ID}", token)["total"] == 0
            assert metrics_figures() == figures


def a_resident_id(n):
    base = f"6501021980010100{n}"
    return base + resident_id_check_digit(base)


def refuse_and_withdraw(intake, mediation, documents, token):
    """Intake's routes with marked reasons: a case not accepted (its notice prints the reason,
    opened; the institute's referral carries nothing sealed) and a case withdrawn while mediated (mediation's
    withdrawal quotes the reason). The refused case's id and its notice's PDF path."""
    cases = []
    for n in (1, 2):
        body = {
            "center_id": CENTER,
            "channel": "walk_in",
            "source": "self",
            "category": "wages",
            "applicant": {"name": "普通申请人", "id_type": "resident_id", "id_number": a_resident_id(n)},
            "respondent": {"name": "普通商贸有限公司"},
            "claims": [{"item": "工资", "amount": "1000.00"}],
            "workers_involved": 1,
        }
        cases.append(call(intake, "POST", "/api/v1/cases", token, body)["case_id"])
    refused, withdrawn = cases
    decision = {"decision": "reject", "reason": REFUSAL}
    # Its response is kept for the Idempotency-Key (the console sends one with every step), sealed.
    kept = {"Idempotency-Key": "privacy-refusal-1"}
    answer = call(intake, "POST", f"/api/v1/cases/{refused}/acceptance", token, decision, **kept)
    assert answer["decision"]["reason"] == REFUSAL
    assert call(intake, "GET", f"/api/v1/cases/{refused}", token)["decision"]["reason"] == REFUSAL
    notice = issue(documents, token, refused, "rejection_notice")
    assert REFUSAL in pdf_text(documents, token, notice)
    referral = support.wait_for(lambda: institute_message(refused), timeout=30, message="the refusal's referral")
    assert "tj:sealed:" not in referral  # §4's referral of a refusal has no record to quote the reason in
    call(intake, "POST", f"/api/v1/cases/{withdrawn}/acceptance", token, {"decision": "accept"})
    mediated = f"{mediation}/api/v1/cases/{withdrawn}"
    support.wait_for(lambda: support.http("GET", mediated, token=token)[0] == 200, message="the mediation opened")
    call(intake, "POST", f"/api/v1/cases/{withdrawn}/withdrawal", token, {"reason": WITHDRAWAL})
    history = call(intake, "GET", f"/api/v1/cases/{withdrawn}/history", token)["events"]
    assert [e["data"]["reason"] for e in history if e["event_type"] == "ApplicationWithdrawn"] == [WITHDRAWAL]

    def mediation_withdrawn():
        status, view, _ = support.http("GET", mediated + "/history", token=token)
        return status == 200 and [
            e["data"]["reason"] for e in view["events"] if e["event_type"] == "MediationWithdrawn"
        ]

    assert support.wait_for(mediation_withdrawn, timeout=30, message="mediation withdrawn") == [WITHDRAWAL]
    return refused, notice


def mediate(mediation, documents, token, case_id):
    """Mediation's routes with marked values: a mediator, a session, an agreement, its review,
    a survey and a complaint; the views show them opened. The agreement document's PDF path."""
    certificate = {"certificate_no": "新调证字2025第0917号", "full_time": True}
    expires = (date.today() + timedelta(days=365)).isoformat()
    mediator = {"center_id": CENTER, "name": MEDIATOR_NAME, "certificate_expires": expires, **certificate}
    mediator_id = call(mediation, "POST", "/api/v1/mediators", token, mediator)["mediator_id"]
    case = f"/api/v1/cases/{case_id}"
    call(mediation, "POST", case + "/assignment", token, {"mediator_id": mediator_id})
    held_at = datetime.now(UTC).isoformat()  # after the assignment: steps go forward in time
    call(mediation, "POST", case + "/sessions", token, {"held_at": held_at, "summary": SUMMARY})
    due = (date.today() + timedelta(days=10)).isoformat()
    agreement = {"terms": TERMS, "amount": "8000.00", "performance_due": due}
    # Its response is kept for the Idempotency-Key (the console sends one with every step).
    signed = call(mediation, "POST", case + "/agreement", token, agreement, **AGREEMENT_KEY)
    assert sign_again(mediation, token, case_id)["agreement"]["terms"] == TERMS == signed["agreement"]["terms"]
    call(mediation, "POST", case + "/review-request", token, {})
    call(mediation, "POST", case + "/survey", token, {"score": 4, "comment": COMMENT})
    call(mediation, "POST", "/api/v1/complaints", token, {"center_id": CENTER, "case_id": case_id, "text": COMPLAINT})
    view = call(mediation, "GET", case, token)
    assert view["sessions"][0]["summary"] == SUMMARY and view["agreement"]["terms"] == TERMS
    assert view["mediator"]["mediator_name"] == MEDIATOR_NAME and view["survey"]["comment"] == COMMENT
    roster = call(mediation, "GET", f"/api/v1/mediators?center_id={CENTER}", token)["mediators"]
    assert [m["name"] for m in roster if m["mediator_id"] == mediator_id] == [MEDIATOR_NAME]
    history = call(mediation, "GET", case + "/history", token)["events"]
    assert [e["data"]["agreement"]["terms"] for e in history if e["event_type"] == "ReviewRequested"] == [TERMS]
    path = issue(documents, token, case_id, "agreement")
    text = pdf_text(documents, token, path)
    assert TERMS in text and MEDIATOR_NAME in text
    return path
