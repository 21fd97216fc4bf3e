"""Tracking codes: ten random digits and a Luhn check digit, unguessable, and typos are caught before any lookup."""

import re
import secrets

from hub_shared.text import normalize_digits


def new_tracking_code() -> str:
    body = "".join(secrets.choice("0123456789") for _ in range(10))
    return body + str(luhn_check_digit(body))


def luhn_check_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def parse_tracking_code(text: str) -> str | None:
    """The code in ASCII digits when `text` is a well-formed tracking code (Persian digits accepted), else None."""
    code = normalize_digits(text)
    if re.fullmatch(r"[0-9]{11}", code) and luhn_check_digit(code[:-1]) == int(code[-1]):
        return code
    return None
