"""The documents service's command: what a request to issue a document asks, past the boundary schema."""

import dataclasses
import uuid

from services.common.commands import Command


@dataclasses.dataclass(frozen=True, kw_only=True)
class IssueDocument(Command):
    case_id: str
    kind: str
    # For a service receipt: the document whose service it records (default: the latest issued).
    document_id: uuid.UUID | None = None
