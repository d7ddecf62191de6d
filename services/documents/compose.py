"""What each kind of document says: the case file turned into a document's content (pure).

A document's content is plain data (title, issuer, number and a list of blocks), stored
when the document is issued and rendered from there to PDF and Word: a document fetched
again is the one issued, even after the case moved on.

Blocks: `p` (a paragraph; `indent` for body text), `h` (a heading), `fields` (label and
value rows: the parties), `table` (header and rows), `signatures` (lines to sign on),
`seal` (the issuer, its seal and the date), `note` (small print), `page_break`.

The shared pieces are in `pieces`; the kinds in `notices`, `agreement` and `records`.
"""

import dataclasses
from datetime import date

from .agreement import agreement
from .domain import KINDS
from .notices import acceptance_notice, rejection_notice, termination_notice
from .records import service_receipt, session_record


@dataclasses.dataclass(frozen=True)
class Issue:
    """The facts of the issuing itself: who issues, under which number, on which day."""

    issuer: str
    number: str
    issued_on: date
    commission: str
    zone: object
    served: dict | None = None  # for a service receipt: {kind, number} of the document served


def compose(kind, case_file, issue):
    blocks = _COMPOSERS[kind](case_file, issue)
    return {
        "kind": kind,
        "title": KINDS[kind][0],
        "issuer": issue.issuer,
        "number": issue.number,
        "case_number": case_file.case_number,
        "blocks": blocks,
    }


_COMPOSERS = {
    "acceptance_notice": acceptance_notice,
    "rejection_notice": rejection_notice,
    "agreement": agreement,
    "termination_notice": termination_notice,
    "session_record": session_record,
    "service_receipt": service_receipt,
}
