"""Complaints (投诉举报) about a center's service: filed by the center, answered once by its head or the district."""

from services.common.aggregate import Aggregate
from services.events import ComplaintAnswered, ComplaintFiled

from .calendar import moment
from .rules import NotAllowed

OPEN = "open"  # 待答复
ANSWERED = "answered"  # 已答复
COMPLAINT_STATUSES = (OPEN, ANSWERED)


class Complaint(Aggregate):
    """A complaint (投诉举报) about a center's service, optionally about one case.

    Its `text` and `answer` are free text a person wrote (personal data, docs/PRIVACY.md)."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.complaint_id = None
        self.center_id = None
        self.case_id = None
        self.text = None
        self.filed_at = None
        self.answer = None
        self.answered_at = None

    stream_prefix = "complaint"

    @property
    def exists(self):
        return self.complaint_id is not None

    @property
    def status(self):
        if not self.exists:
            return None
        return ANSWERED if self.answered_at is not None else OPEN

    def file(self, complaint_id, center_id, case_id, text, now):
        self.record(
            ComplaintFiled,
            {
                "complaint_id": complaint_id,
                "center_id": center_id,
                "case_id": case_id,
                "text": text,
                "filed_at": now.isoformat(),
            },
            occurred_at=now,
            case_id=case_id,
            center_id=center_id,
        )

    def answer_with(self, answer, now):
        """答复: once. A second answer is refused with the complaint's state (409)."""
        if self.status == ANSWERED:
            raise NotAllowed("this complaint has already been answered", ANSWERED)
        self.record(
            ComplaintAnswered,
            {
                "complaint_id": self.complaint_id,
                "center_id": self.center_id,
                "case_id": self.case_id,
                "answer": answer,
                "answered_at": now.isoformat(),
            },
            occurred_at=now,
            case_id=self.case_id,
            center_id=self.center_id,
        )

    def _on_ComplaintFiled(self, data):
        self.complaint_id = data["complaint_id"]
        self.center_id = data.get("center_id")
        self.case_id = data.get("case_id")
        self.text = data.get("text")
        self.filed_at = moment(data.get("filed_at"))

    def _on_ComplaintAnswered(self, data):
        self.answer = data.get("answer")
        self.answered_at = moment(data.get("answered_at"))
