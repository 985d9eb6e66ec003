"""API keys. A key is `kith_<id>_<secret>`: the id finds the row, the secret's hash is
compared in constant time, and only the hash is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import msgspec

from kith.domain.access import Role

PREFIX = "kith_"


class ApiKey(msgspec.Struct, kw_only=True):
    id: str
    role: Role
    name: str
    secret_hash: str
    created: str


def new_key_material() -> tuple[str, str, str]:
    """Return (key id, full key shown once, hash of the secret to store)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    return key_id, f"{PREFIX}{key_id}_{secret}", hash_secret(secret)


def key_from_value(value: str) -> tuple[str, str, str]:
    """Turn an operator-chosen value (the bootstrap key) into (id, key, hash)."""
    key_id, secret = key_parts(value)
    return key_id, value, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_parts(value: str) -> tuple[str, str]:
    """(id, secret) of a presented key.

    A key in Kith's format carries its id; any other value (a bootstrap key an
    operator chose) gets an id derived from its hash, so it maps to one row."""
    if value.startswith(PREFIX):
        key_id, sep, secret = value.removeprefix(PREFIX).partition("_")
        if sep and key_id and secret:
            return key_id, secret
    return "b" + hashlib.sha256(value.encode()).hexdigest()[:11], value


def secret_matches(candidate: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(candidate), stored_hash)
