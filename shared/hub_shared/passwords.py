"""Staff passwords for the embedded default's local accounts (`hub user add NAME --password`): stored only as
Argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile), checked in constant time. A deployment
with single sign-on keeps passwords at its identity provider and needs none of this.

Needs argon2-cffi, which the packages that hash (hub-cli) or check (hub-web) passwords declare."""

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
_HASHER = PasswordHasher()
# checked when the name is unknown, so an unknown name takes as long to refuse as a wrong password
_NOBODY = _HASHER.hash("no account has this password; it only costs the same time")


def hash_password(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValueError(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `stored_hash` was made from; False (after the same work) with no hash."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash or _NOBODY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def fingerprint(stored_hash: str) -> str:
    """A short value that changes with the password, for sessions to end when it does (never the hash itself)."""
    return hashlib.sha256(b"session-epoch:" + stored_hash.encode()).hexdigest()[:16]


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash that just matched was made with other parameters than today's (hash the password anew)."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False
