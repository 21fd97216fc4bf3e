"""The personal-data vault: what an operator relies on when keys rotate or a stored value is tampered with."""

import base64
import os
from uuid import uuid4

import pytest
from pydantic import ValidationError

from hub_intake.settings import IntakeSettings
from hub_shared.vault import DataKey, PersonalDataVault, UndecryptableError, VaultKeyError, parse_data_keys

HASH_KEY = b"hash-key-for-tests-0123456789abcdef"
ADDRESS = "تهران، خیابان آزادی، کوچهٔ شهید رضایی، پلاک ۱۲"


def new_key(key_id: str) -> DataKey:
    return DataKey(key_id, os.urandom(32))


def spec(*keys: DataKey) -> str:
    return ",".join(f"{key.key_id}:{base64.b64encode(key.secret).decode()}" for key in keys)


@pytest.fixture
def old_key() -> DataKey:
    return new_key("2025-01")


@pytest.fixture
def vault(old_key) -> PersonalDataVault:
    return PersonalDataVault([old_key], HASH_KEY)


def test_persian_text_round_trips_and_the_ciphertext_hides_it(vault) -> None:
    case_id = uuid4()
    first = vault.encrypt(ADDRESS, column="address_ciphertext", case_id=case_id)
    second = vault.encrypt(ADDRESS, column="address_ciphertext", case_id=case_id)
    assert vault.decrypt(first, column="address_ciphertext", case_id=case_id) == ADDRESS
    assert first.startswith(b"2025-01:")
    assert first != second, "a fresh nonce per value: equal values must not look equal at rest"
    assert "خیابان".encode() not in first and "۱۲".encode() not in first


def test_after_rotation_old_values_decrypt_and_new_ones_use_the_new_key(old_key, vault) -> None:
    case_id = uuid4()
    stored_before = vault.encrypt("زهرا احمدی", column="full_name_ciphertext", case_id=case_id)
    rotated = PersonalDataVault([new_key("2026-01"), old_key], HASH_KEY)
    stored_after = rotated.encrypt("زهرا احمدی", column="full_name_ciphertext", case_id=case_id)
    assert rotated.decrypt(stored_before, column="full_name_ciphertext", case_id=case_id) == "زهرا احمدی"
    assert rotated.key_id_of(stored_before) == "2025-01"
    assert rotated.key_id_of(stored_after) == "2026-01" and stored_after.startswith(b"2026-01:")
    assert rotated.current_key_id == "2026-01"


def test_a_retired_key_leaves_its_values_undecryptable_with_the_key_named(vault) -> None:
    case_id = uuid4()
    stored = vault.encrypt("09121234567", column="phone_ciphertext", case_id=case_id)
    without_old_key = PersonalDataVault([new_key("2026-01")], HASH_KEY)
    with pytest.raises(UndecryptableError, match=r"data key '2025-01', which is not loaded \(loaded: 2026-01\)"):
        without_old_key.decrypt(stored, column="phone_ciphertext", case_id=case_id)


def test_an_altered_ciphertext_fails_to_decrypt(vault) -> None:
    case_id = uuid4()
    stored = bytearray(vault.encrypt("0084575948", column="national_id_ciphertext", case_id=case_id))
    stored[-1] ^= 0x01
    with pytest.raises(UndecryptableError, match="does not authenticate: it was altered"):
        vault.decrypt(bytes(stored), column="national_id_ciphertext", case_id=case_id)


@pytest.mark.parametrize("column,other_case", [("phone_ciphertext", False), ("national_id_ciphertext", True)])
def test_a_value_copied_to_another_column_or_case_fails_to_decrypt(vault, column, other_case) -> None:
    case_id = uuid4()
    stored = vault.encrypt("0084575948", column="national_id_ciphertext", case_id=case_id)
    with pytest.raises(UndecryptableError, match="belongs to another column or case"):
        vault.decrypt(stored, column=column, case_id=uuid4() if other_case else case_id)


@pytest.mark.parametrize("stored", [b"", b"no key id prefix at all, just bytes", b"k1:too-short"])
def test_bytes_that_are_not_a_vault_ciphertext_are_refused_plainly(vault, stored) -> None:
    with pytest.raises(UndecryptableError, match="not a vault ciphertext"):
        vault.decrypt(stored, column="address_ciphertext", case_id=uuid4())


def test_the_lookup_hash_survives_key_rotation_and_tells_citizens_apart(old_key, vault) -> None:
    rotated = PersonalDataVault([new_key("2026-01"), old_key], HASH_KEY)
    assert rotated.lookup_hash("0084575948") == vault.lookup_hash("0084575948")
    assert vault.lookup_hash("0084575948") != vault.lookup_hash("2914177763")
    other_hash_key = PersonalDataVault([old_key], b"another-hash-key-0123456789abcdef")
    assert other_hash_key.lookup_hash("0084575948") != vault.lookup_hash("0084575948")


def test_keys_are_read_newest_first_from_the_setting_format() -> None:
    newest, oldest = new_key("k2"), new_key("k1")
    keys = parse_data_keys(f" {spec(newest)} , {spec(oldest)} ")
    assert [key.key_id for key in keys] == ["k2", "k1"]
    assert keys[0].secret == newest.secret
    assert newest.secret.hex() not in repr(keys[0])


@pytest.mark.parametrize("setting,reason", [
    ("", "no data key given"),
    ("k1", "not in the form 'id:base64key'"),
    ("k1:not*base64", "'k1' is not valid base64"),
    (f"k1:{base64.b64encode(b'sixteen-byte-key').decode()}", "'k1' is 16 bytes; AES-256-GCM needs 32"),
    (f"k 1:{base64.b64encode(bytes(32)).decode()}", "id 'k 1' must be 1-32 letters"),
    (f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(32)).decode()}", "'k1' is given twice"),
])
def test_bad_key_settings_are_refused_with_the_reason(setting, reason) -> None:
    with pytest.raises(VaultKeyError, match=reason):
        parse_data_keys(setting)


def test_the_vault_refuses_a_short_hash_key_or_no_data_key(old_key) -> None:
    with pytest.raises(VaultKeyError, match="hash key is 5 bytes; it needs at least 16"):
        PersonalDataVault([old_key], b"short")
    with pytest.raises(VaultKeyError, match="at least one data key"):
        PersonalDataVault([], HASH_KEY)


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("HUB_INTAKE_DATA_KEYS", "HUB_INTAKE_PSEUDONYM_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_intake_works_unconfigured_with_the_named_development_key(clean_environment) -> None:
    vault = IntakeSettings().personal_data_vault
    case_id = uuid4()
    assert vault.current_key_id == "dev-insecure"
    assert vault.decrypt(vault.encrypt(ADDRESS, column="address_ciphertext", case_id=case_id),
                         column="address_ciphertext", case_id=case_id) == ADDRESS


def test_intake_encrypts_with_the_first_configured_key(clean_environment) -> None:
    clean_environment.setenv("HUB_INTAKE_DATA_KEYS", spec(new_key("2026-01"), new_key("2025-01")))
    vault = IntakeSettings().personal_data_vault
    assert vault.key_id_of(vault.encrypt("x", column="phone_ciphertext", case_id=uuid4())) == "2026-01"


def test_a_bad_key_setting_stops_intake_without_echoing_the_key(clean_environment) -> None:
    short = base64.b64encode(b"sixteen-byte-key").decode()
    clean_environment.setenv("HUB_INTAKE_DATA_KEYS", f"k1:{short}")
    with pytest.raises(ValidationError, match="data_keys") as refused:
        IntakeSettings()
    assert "16 bytes" in str(refused.value) and short not in str(refused.value)


def test_a_short_pseudonym_key_is_refused_at_start(clean_environment) -> None:
    clean_environment.setenv("HUB_INTAKE_PSEUDONYM_KEY", "too-short")
    with pytest.raises(ValidationError, match="pseudonym_key"):
        IntakeSettings()
