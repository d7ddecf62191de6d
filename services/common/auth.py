"""Staff tokens: one center (staff), the district (reads all, writes nothing), or admin.

Tokens are random strings handed out once by `tiaojie token issue`; only their SHA-256
is stored, in every service's database.
"""

import dataclasses
import hashlib
import secrets

from .errors import Forbidden
from .http import Unauthorized


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token():
    return "tj_" + secrets.token_urlsafe(32)


@dataclasses.dataclass(frozen=True)
class Principal:
    role: str  # "center" | "district" | "admin"
    center_id: str | None
    token_hash: str

    def can_read(self, center_id):
        return self.role in ("district", "admin") or self.center_id == center_id

    def can_write(self, center_id):
        return self.role == "admin" or (self.role == "center" and self.center_id == center_id)

    def require_read(self, center_id):
        if not self.can_read(center_id):
            raise Forbidden("this token may not read that center's cases")

    def require_write(self, center_id):
        if not self.can_write(center_id):
            raise Forbidden("this token may not change that center's cases")


def bearer_token(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")
    return token.strip()


def find_principal(cursor, token):
    token_hash = hash_token(token)
    cursor.execute(
        "SELECT role, center_id FROM api_tokens WHERE token_hash = %s AND revoked_at IS NULL",
        (token_hash,),
    )
    row = cursor.fetchone()
    if row is None:
        raise Unauthorized("unknown token")
    return Principal(role=row["role"], center_id=row["center_id"], token_hash=token_hash)


def store_token(cursor, token, role, center_id=None):
    cursor.execute(
        "INSERT INTO api_tokens (token_hash, role, center_id) VALUES (%s, %s, %s)",
        (hash_token(token), role, center_id),
    )
