"""Personal data at rest: AES-256-GCM ciphertexts that name their key, and a keyed hash for look-ups.

A ciphertext is `<key id>:` + 96-bit random nonce + AES-GCM output. Several keys may be loaded: the
first (newest) encrypts, any of them decrypts, so keys rotate without rewriting every row at once.
The associated data binds a ciphertext to its column and case, so a value copied to another row or
column does not decrypt. The look-up hash has its own key and does not change when data keys rotate.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_KEY_ID_CHARS = 32
MIN_HASH_KEY_BYTES = 16
KEY_ID_SEPARATOR = b":"
_KEY_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_KEY_ID_CHARS}}}")
NEW_KEY_HINT = "make one with: python -c \"import base64, os; print(base64.b64encode(os.urandom(32)).decode())\""


class VaultKeyError(ValueError):
    """A data or hash key is missing, malformed or too short."""


class UndecryptableError(Exception):
    """A stored value cannot be decrypted: unknown key, altered bytes, or another column's or case's value."""


@dataclass(frozen=True, repr=False)
class DataKey:
    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise VaultKeyError(f"data key id {self.key_id!r} must be 1-32 letters, digits, '-' or '_'")
        if len(self.secret) != KEY_BYTES:
            raise VaultKeyError(f"data key {self.key_id!r} is {len(self.secret)} bytes; AES-256-GCM needs {KEY_BYTES} ({NEW_KEY_HINT})")

    def __repr__(self) -> str:
        return f"DataKey({self.key_id!r}, <secret>)"


def parse_data_keys(spec: str) -> list[DataKey]:
    """`id:base64key,id:base64key`, newest first, into keys; raises VaultKeyError naming the bad entry."""
    entries = [entry.strip() for entry in spec.split(",") if entry.strip()]
    if not entries:
        raise VaultKeyError(f"no data key given: expected 'id:base64key[,id:base64key...]' ({NEW_KEY_HINT})")
    keys = [_parse_data_key(entry, position) for position, entry in enumerate(entries, 1)]
    _refuse_duplicate_ids(keys)
    return keys


def _parse_data_key(entry: str, position: int) -> DataKey:
    key_id, separator, encoded = entry.partition(":")
    if not separator or not key_id.strip() or not encoded.strip():
        raise VaultKeyError(f"data key #{position} is not in the form 'id:base64key'")
    try:
        secret = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise VaultKeyError(f"data key {key_id.strip()!r} is not valid base64") from None
    return DataKey(key_id.strip(), secret)


def _refuse_duplicate_ids(keys: Sequence[DataKey]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key.key_id in seen:
            raise VaultKeyError(f"data key id {key.key_id!r} is given twice; each key needs its own id")
        seen.add(key.key_id)


class PersonalDataVault:
    """Encrypts and decrypts personal values for one table's columns, and hashes them for look-ups."""

    def __init__(self, keys: Sequence[DataKey], hash_key: bytes) -> None:
        if not keys:
            raise VaultKeyError(f"the vault needs at least one data key ({NEW_KEY_HINT})")
        _refuse_duplicate_ids(keys)
        if len(hash_key) < MIN_HASH_KEY_BYTES:
            raise VaultKeyError(f"the hash key is {len(hash_key)} bytes; it needs at least {MIN_HASH_KEY_BYTES}")
        self._current = keys[0].key_id
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}
        self._hash_key = hash_key

    @property
    def current_key_id(self) -> str:
        return self._current

    def encrypt(self, plaintext: str, *, column: str, case_id: UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, plaintext.encode(), _associated_data(column, case_id))
        return self._current.encode() + KEY_ID_SEPARATOR + nonce + sealed

    def decrypt(self, ciphertext: bytes, *, column: str, case_id: UUID) -> str:
        key_id, nonce, sealed = self._split(ciphertext)
        try:
            return self._ciphers[key_id].decrypt(nonce, sealed, _associated_data(column, case_id)).decode()
        except InvalidTag:
            raise UndecryptableError(
                f"the {column} value of case {case_id} does not authenticate: it was altered, "
                "or it belongs to another column or case") from None

    def key_id_of(self, ciphertext: bytes) -> str:
        """Which key encrypted a stored value: what re-encryption looks for when a key is retired."""
        return self._split(ciphertext)[0]

    def lookup_hash(self, value: str) -> str:
        """HMAC-SHA256 of the value, hex: equal values hash alike, whichever data key encrypted them."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def _split(self, ciphertext: bytes) -> tuple[str, bytes, bytes]:
        ciphertext = bytes(ciphertext)
        end = ciphertext.find(KEY_ID_SEPARATOR, 0, MAX_KEY_ID_CHARS + 1)
        key_id = ciphertext[:max(end, 0)].decode("ascii", errors="replace")
        if not _KEY_ID.fullmatch(key_id) or len(ciphertext) - end - 1 < NONCE_BYTES + TAG_BYTES:
            raise UndecryptableError("not a vault ciphertext: it lacks the '<key id>:' prefix, nonce or tag")
        if key_id not in self._ciphers:
            raise UndecryptableError(
                f"the value was encrypted with data key {key_id!r}, which is not loaded "
                f"(loaded: {', '.join(self._ciphers)}); add it back to the configured keys")
        body = ciphertext[end + 1:]
        return key_id, body[:NONCE_BYTES], body[NONCE_BYTES:]


def _associated_data(column: str, case_id: UUID) -> bytes:
    return f"{column}|{UUID(str(case_id))}".encode()
