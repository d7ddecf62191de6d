"""The demo's back-fill of documents: the planned kinds for each center's newest cases, never twice."""

from services.documents.backfill import backfill
from services.simulate.client import ApiRefused


class FakeApi:
    """A staff API answering from dicts, recording the POSTs."""

    def __init__(self, lists=None, files=None, refuse=()):
        self.lists = lists or {}
        self.files = files or {}
        self.refuse = set(refuse)
        self.posted = []

    def get(self, path, token):
        if path.startswith("/api/v1/cases?"):
            query = dict(part.split("=") for part in path.split("?")[1].split("&"))
            return {"cases": self.lists.get((query["center_id"], query["status"]), [])}
        case_id = path.split("/")[4]
        if case_id not in self.files:
            raise ApiRefused(404, {"error": "not_found"})
        return {"documents": [{"kind": kind} for kind in self.files[case_id]]}

    def post(self, path, token, body, idempotency_key=None):
        case_id = path.split("/")[4]
        if (case_id, body["kind"]) in self.refuse:
            raise ApiRefused(409, {"error": "conflict"})
        self.posted.append((case_id, body["kind"], idempotency_key))
        self.files[case_id].append(body["kind"])
        return {"document_id": f"doc-{len(self.posted)}", "kind": body["kind"], "number": str(len(self.posted))}


def test_each_center_newest_cases_get_the_documents_their_state_allows_once():
    mediation = FakeApi(
        lists={
            ("huaguangjie", "agreement"): [{"case_id": "a1"}, {"case_id": "a2"}],
            ("huaguangjie", "failed"): [{"case_id": "f1"}],
        }
    )
    intake = FakeApi(lists={("huaguangjie", "not_accepted"): [{"case_id": "r1"}, {"case_id": "unknown"}]})
    documents = FakeApi(
        files={"a1": ["acceptance_notice"], "a2": [], "f1": [], "r1": []}, refuse={("a1", "session_record")}
    )
    apis = {"intake": intake, "mediation": mediation, "documents": documents}

    issued = backfill(apis, {"huaguangjie": "token"}, per_center=1)

    assert [(case_id, kind) for case_id, kind, _ in documents.posted] == [
        ("a1", "agreement"),
        ("a1", "service_receipt"),
        ("f1", "termination_notice"),
        ("f1", "service_receipt"),
        ("r1", "rejection_notice"),
    ]
    assert all(key == f"backfill-{case_id}-{kind}" for case_id, kind, key in documents.posted)
    assert {doc["center_id"] for doc in issued} == {"huaguangjie"} and len(issued) == 5
    assert backfill(apis, {"huaguangjie": "token"}, per_center=1) == []
