"""Who is calling: a machine token of CONTRACTS §2 or a person's session or token (§7).

Machine tokens (one center, the district, or admin) are random strings handed out once by
`tiaojie token issue`; only their SHA-256 is stored, in every service's database. A
person's credentials come from the console's events (`credentials.py`): a session or a
personal token, known by its SHA-256 too, good until it expires, ends, is revoked or its
account is disabled.
"""

import dataclasses
import hashlib
import secrets

from .credentials import Credentials
from .errors import Forbidden
from .http import Unauthorized

# A person's role → the scope of cases it reaches, in the terms of the machine tokens.
# `admin` people manage accounts and do no case work (CONTRACTS §7).
PERSON_SCOPES = {"staff": "center", "head": "center", "district": "district", "admin": "accounts"}


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token():
    return "tj_" + secrets.token_urlsafe(32)


@dataclasses.dataclass(frozen=True)
class Principal:
    """The caller's rights. `role` is the scope: "center" (one center's cases), "district"
    (reads every center), "admin" (the machine admin token: everything) or "accounts" (an
    admin person: no case work). `person` is set for a person: `{account_id, login, name,
    role}` with role `staff | head | district | admin`."""

    role: str
    center_id: str | None
    token_hash: str
    person: dict | None = None

    @property
    def actor(self):
        """The envelope's `actor` (CONTRACTS §7) for events this caller causes."""
        if self.person is not None:
            return dict(self.person)
        return {"token": f"{self.role}:{self.center_id}" if self.center_id else self.role}

    def can_read(self, center_id):
        return self.role in ("district", "admin") or (self.role == "center" and self.center_id == center_id)

    def can_write(self, center_id):
        return self.role == "admin" or (self.role == "center" and self.center_id == center_id)

    def can_manage_roster(self, center_id):
        """The center's roster (mediators): its head, or a machine token that writes there."""
        return self.can_write(center_id) and (self.person is None or self.person["role"] == "head")

    def can_answer_complaints(self, center_id):
        """Answers to complaints: the center's head, district people, or a machine token that writes there."""
        if self.person is not None and self.person["role"] == "district":
            return True
        return self.can_manage_roster(center_id)

    def can_read_complaints(self, center_id):
        """A center's complaints: those who answer them, and the district's machine token (read only).

        A center's staff file complaints but do not read them: a complaint may be about them."""
        return self.can_answer_complaints(center_id) or (self.role == "district" and self.person is None)

    def require_read(self, center_id):
        if not self.can_read(center_id):
            raise Forbidden("this token may not read that center's cases")

    def require_write(self, center_id):
        if not self.can_write(center_id):
            raise Forbidden("this token may not change that center's cases")

    def require_roster(self, center_id):
        if not self.can_manage_roster(center_id):
            raise Forbidden("only the center's head may change its roster")

    def require_complaint_answer(self, center_id):
        if not self.can_answer_complaints(center_id):
            raise Forbidden("only the center's head or the district may answer complaints")

    def require_complaint_read(self, center_id):
        if not self.can_read_complaints(center_id):
            raise Forbidden("only the center's head or the district may read complaints")


def bearer_token(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")
    return token.strip()


def find_principal(cursor, token, now):
    """The caller whose bearer is `token`: a machine token, else a live session or personal token."""
    token_hash = hash_token(token)
    cursor.execute(
        "SELECT role, center_id FROM api_tokens WHERE token_hash = %s AND revoked_at IS NULL",
        (token_hash,),
    )
    row = cursor.fetchone()
    if row is not None:
        return Principal(role=row["role"], center_id=row["center_id"], token_hash=token_hash)
    identity = Credentials(cursor).live(token_hash, now)
    if identity is None:
        raise Unauthorized("unknown, expired or revoked token")
    return Principal(
        role=PERSON_SCOPES[identity["role"]],
        center_id=identity["center_id"],
        token_hash=token_hash,
        person={k: identity[k] for k in ("account_id", "login", "name", "role")},
    )


def store_token(cursor, token, role, center_id=None):
    cursor.execute(
        "INSERT INTO api_tokens (token_hash, role, center_id) VALUES (%s, %s, %s)",
        (hash_token(token), role, center_id),
    )
