"""API keys per organisation for the Open311 API, hashed at rest (table api_keys, migration 0005).

A key reads ``tsur_<key_id>_<secret>``: ``key_id`` (8 hex characters) finds the row, the secret is
256 random bits (``secrets.token_urlsafe(32)``) of which only the SHA-256 is stored. A fast hash is
the right tool for a random 256-bit secret (a slow KDF such as scrypt protects low-entropy
passwords; nothing can be guessed here), and it keeps the check cheap on every request. The key
is printed once by ``tsur api-key create`` and cannot be recovered; revoke and create another.

Scopes: ``read`` (GET endpoints, when ``TSUR_API_READ_KEY=on``) and ``write`` (also new requests
and status updates).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from warehouse.queries import named_query

SCOPES = ("read", "write")
_KEY_RE = re.compile(r"^tsur_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
MAX_ORGANISATION_CHARS = 200


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    organisation: str
    scope: str

    def allows(self, scope: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(scope)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(client, organisation: str, scope: str) -> tuple[str, str]:
    """Store a new key for the organisation; return (key_id, the key). The key is not stored."""
    organisation = organisation.strip()
    if not organisation or len(organisation) > MAX_ORGANISATION_CHARS:
        raise ValueError(f"the organisation name must be 1..{MAX_ORGANISATION_CHARS} characters")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    key_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    client.insert("api_keys", [[key_id, organisation, scope, _digest(secret), now, None, now]],
                  column_names=["key_id", "organisation", "scope", "secret_sha256", "created_at", "revoked_at", "updated_at"])
    return key_id, f"tsur_{key_id}_{secret}"


def verify(client, presented: str | None) -> ApiKey | None:
    """The key's holder and scope, or None for a missing, malformed, unknown or revoked key."""
    m = _KEY_RE.match((presented or "").strip())
    if not m:
        return None
    key_id, secret = m.groups()
    rows = client.query(named_query("api_key_lookup"), parameters={"key_id": key_id}).result_rows
    if not rows:
        return None
    _, organisation, scope, stored, _, revoked_at = rows[0]
    if revoked_at is not None or not hmac.compare_digest(stored, _digest(secret)) or scope not in SCOPES:
        return None
    return ApiKey(key_id, organisation, scope)


def listing(client) -> list[tuple]:
    """(key_id, organisation, scope, created_at, revoked_at) of every key."""
    return client.query(named_query("api_keys_list")).result_rows


def revoke(client, key_id: str) -> bool:
    """Mark the key revoked (a newer version of its row); False if there is no such key."""
    rows = client.query(named_query("api_key_lookup"), parameters={"key_id": key_id}).result_rows
    if not rows:
        return False
    now = datetime.now(timezone.utc)
    client.insert("api_keys", [[*rows[0][:5], rows[0][5] or now, now]],
                  column_names=["key_id", "organisation", "scope", "secret_sha256", "created_at", "revoked_at", "updated_at"])
    return True
