import pytest

from hub_shared.text import is_valid_national_id, normalize_digits, normalize_text


def test_arabic_letters_become_persian_and_space_collapses() -> None:
    assert normalize_text("  علي   كريمي ") == "علی کریمی"


def test_persian_and_arabic_digits_become_ascii_and_separators_go() -> None:
    assert normalize_digits("۰۹۱۲-۱۲۳ ٤٥٦٧") == "09121234567"


@pytest.mark.parametrize("national_id", ["0084575948", "2914177763", "3170669079"])
def test_valid_national_ids_pass_the_checksum(national_id: str) -> None:
    assert is_valid_national_id(national_id)


@pytest.mark.parametrize("national_id", ["0084575949", "1111111111", "123456789", "12345678901", "abcdefghij"])
def test_invalid_national_ids_fail(national_id: str) -> None:
    assert not is_valid_national_id(national_id)
