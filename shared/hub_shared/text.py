"""Persian text normalisation and national-ID validation."""

import re

_CHARS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ۀ": "ه", "\u200f": None, "\u200e": None})
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_SPACES = re.compile(r"\s+")


def normalize_text(value: str) -> str:
    """Arabic ي/ك to Persian ی/ک, collapsed white space; digits in prose are left as written."""
    return _SPACES.sub(" ", value.translate(_CHARS)).strip()


def normalize_digits(value: str) -> str:
    """Persian and Arabic-Indic digits to ASCII, separators removed: for codes and numbers."""
    return re.sub(r"[\s\-_/.]", "", value.translate(_DIGITS))


def is_valid_national_id(value: str) -> bool:
    """The checksum of the 10-digit Iranian national ID (کد ملی)."""
    if not re.fullmatch(r"[0-9]{10}", value) or len(set(value)) == 1:
        return False
    return int(value[9]) == national_id_check_digit(value[:9])


def national_id_check_digit(first_nine: str) -> int:
    """The tenth digit of a national ID whose first nine digits are `first_nine`."""
    remainder = sum(int(digit) * (10 - position) for position, digit in enumerate(first_nine)) % 11
    return remainder if remainder < 2 else 11 - remainder
