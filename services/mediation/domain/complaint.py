"""Complaints (投诉举报) about a center's service."""

from services.common.aggregate import Aggregate
from services.events import ComplaintFiled


class Complaint(Aggregate):
    """A complaint (投诉举报) about a center's service, optionally about one case."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.complaint_id = None

    stream_prefix = "complaint"

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

    def _on_ComplaintFiled(self, data):
        self.complaint_id = data["complaint_id"]
