"""How the classifier and the keyword finder read Persian text: one folded form, then words and
character n-grams.

Folding goes beyond `hub_shared.text.normalize_text` (Arabic ي/ك): diacritics and tatweel are dropped,
hamza-carrying letters become their plain forms, digits become ASCII and a zero-width non-joiner
becomes a space, so «شرکت‌های»، «شرکت های» and «شركت هاي» read alike.
"""

import re

from hub_shared.text import normalize_text

_ARABIC_DIACRITICS = {chr(code): None for code in (*range(0x064B, 0x0660), 0x0670, 0x0640)}  # harakat, superscript alef, tatweel
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "ٱ": "ا", "ؤ": "و", "ئ": "ی", "ة": "ه", "\u200c": " ", "\u200d": None,
                       **_ARABIC_DIACRITICS, **dict(zip("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789"))})
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+")  # letters only: numbers (dates, amounts, codes) say nothing about the topic


def fold(text: str) -> str:
    return _SPACES.sub(" ", normalize_text(text).translate(_FOLD)).strip().casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def features(text: str, sizes: range = range(2, 5)) -> set[str]:
    """The words of `text` and the character n-grams of each word padded with spaces (so a word's
    start and end count); n-grams carry Persian's attached suffixes and spelling variants."""
    found: set[str] = set()
    for word in words(text):
        found.add(word)
        padded = f" {word} "
        found.update(padded[start:start + size] for size in sizes for start in range(len(padded) - size + 1))
    return found
