"""A case's documents from the real events of intake and mediation, and their place in the case's history.

Runs intake, mediation and documents as `tiaojie serve` runs them: a case is registered,
accepted and settled through the staff APIs, its agreement is issued by the documents
service, and intake's history of the case shows the DocumentIssued; each download of the
document, and each read of the mediation, is a look in intake's list of who looked at the
case (CONTRACTS §9).
"""

import json
import subprocess
import urllib.error
import urllib.request
from datetime import date, timedelta

from services.intake.identifiers import credit_code_check_character, resident_id_check_digit
from tests import support

CENTER = "longshengjie"
RESIDENT_ID = "65010219850607123" + resident_id_check_digit("65010219850607123")
CREDIT_CODE = "91650102MA7B2C3D4" + credit_code_check_character("91650102MA7B2C3D4")


def call(url, method, path, token, body=None):
    status, payload, _ = support.http(method, url + path, body=body, token=token)
    assert status in (200, 201), (method, path, status, payload)
    return payload


def download_status(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_agreement_issued_from_the_real_events_shows_in_intake_history(infrastructure, tokens, tmp_path):
    token = support.issue_token("--center", CENTER)
    with support.ServiceProcess("intake", "mediation", "documents") as services:
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
                "category": "compensation",
                "applicant": {"name": "马晓燕", "id_type": "resident_id", "id_number": RESIDENT_ID},
                "respondent": {"name": "乌鲁木齐龙盛商贸有限公司", "credit_code": CREDIT_CODE},
                "claims": [{"item": "解除劳动合同经济补偿", "amount": "20000.00"}],
                "workers_involved": 1,
            },
        )
        case_id = case["case_id"]
        call(intake, "POST", f"/api/v1/cases/{case_id}/acceptance", token, {"decision": "accept"})
        support.wait_for(
            lambda: support.http("GET", f"{mediation}/api/v1/cases/{case_id}", token=token)[0] == 200,
            message="the mediation opened",
        )
        mediator = call(
            mediation,
            "POST",
            "/api/v1/mediators",
            token,
            {
                "center_id": CENTER,
                "name": "赵振华",
                "certificate_no": "新调证字2025第0101号",
                "certificate_expires": (date.today() + timedelta(days=365)).isoformat(),
                "full_time": True,
            },
        )["mediator_id"]
        call(mediation, "POST", f"/api/v1/cases/{case_id}/assignment", token, {"mediator_id": mediator})
        due = date.today() + timedelta(days=10)
        call(
            mediation,
            "POST",
            f"/api/v1/cases/{case_id}/agreement",
            token,
            {
                "terms": "被申请人支付申请人经济补偿。",
                "amount": "18000.05",
                "performance_due": due.isoformat(),
            },
        )

        def agreement_allowed():
            status, listing, _ = support.http("GET", f"{documents}/api/v1/cases/{case_id}/documents", token=token)
            return status == 200 and "agreement" in listing["kinds_allowed"]

        support.wait_for(agreement_allowed, timeout=20, message="the agreement in the case file")
        issued = call(documents, "POST", f"/api/v1/cases/{case_id}/documents", token, {"kind": "agreement"})

        request = urllib.request.Request(
            f"{documents}/api/v1/documents/{issued['document_id']}.pdf", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            (tmp_path / "agreement.pdf").write_bytes(response.read())
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "agreement.pdf"), "-"], capture_output=True, text=True, check=True
        ).stdout.replace(" ", "")
        for expected in (
            case["case_number"],
            "马晓燕",
            RESIDENT_ID,
            "乌鲁木齐龙盛商贸有限公司",
            CREDIT_CODE,
            "18,000.05",
            "壹万捌仟元零伍分",
            "赵振华",
            "20,000.00",
            f"{due.year}年{due.month}月{due.day}日",
        ):
            assert expected in text, expected

        def history_shows_it():
            history = call(intake, "GET", f"/api/v1/cases/{case_id}/history", token)
            return [e for e in history["events"] if e["event_type"] == "DocumentIssued"]

        [entry] = support.wait_for(history_shows_it, timeout=20, message="DocumentIssued in intake's history")
        assert entry["data"]["number"] == issued["number"] and entry["data"]["kind"] == "agreement"
        history = call(intake, "GET", f"/api/v1/cases/{case_id}/history", tokens["district"])
        assert [e["event_type"] for e in history["events"]][-1] == "DocumentIssued"

        docx = f"{documents}/api/v1/documents/{issued['document_id']}.docx"
        assert download_status(docx, token) == 200
        assert download_status(docx, tokens["huaguangjie"]) == 403  # refused: no look

        def downloads():
            looks = call(intake, "GET", f"/api/v1/cases/{case_id}/looks", tokens["district"])["looks"]
            found = [look for look in looks if "/documents/" in look["route"]]
            return found if len(found) >= 2 else None

        looks = support.wait_for(downloads, timeout=20, message="the downloads among the case's looks")
        assert [look["route"] for look in looks] == [
            "GET /api/v1/documents/{document_id}.pdf",
            "GET /api/v1/documents/{document_id}.docx",
        ]
        assert all(look["actor"] == {"token": f"center:{CENTER}"} for look in looks)

        # A read of the mediation (its free text) is a look too.
        call(mediation, "GET", f"/api/v1/cases/{case_id}/history", token)

        def mediation_reads():
            looks = call(intake, "GET", f"/api/v1/cases/{case_id}/looks", tokens["district"])["looks"]
            routes = {look["route"] for look in looks if look["route"].startswith("mediation ")}
            return routes if len(routes) == 2 else None

        assert support.wait_for(mediation_reads, timeout=20, message="mediation's reads among the looks") == {
            "mediation GET /api/v1/cases/{case_id}",
            "mediation GET /api/v1/cases/{case_id}/history",
        }

        # What an export of the person holds (PIPL Art. 45): the document issued, and the looks.
        [exported] = json.loads(support.cli("privacy", "export", "--id-number", RESIDENT_ID).stdout)["cases"]
        assert exported["documents"] == [
            {
                "document_id": issued["document_id"],
                "kind": "agreement",
                "number": issued["number"],
                "issued_at": entry["data"]["issued_at"],
                "sha256": entry["data"]["pdf_sha256"],
            }
        ]
        assert {look["route"] for look in looks} <= {look["route"] for look in exported["looks"]}
        # and what mediation holds of the case, opened: the agreement's terms, the mediator
        agreed = [e for e in exported["mediation"] if e["event_type"] == "AgreementReached"]
        assert agreed[0]["data"]["terms"] == "被申请人支付申请人经济补偿。"
        assert "MediationViewed" not in {e["event_type"] for e in exported["mediation"]}
