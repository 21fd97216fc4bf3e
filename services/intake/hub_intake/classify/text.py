"""How the classifier and the keyword finder read Persian text: one folded form, then words and
character n-grams.

Folding goes beyond `hub_shared.text.normalize_text` (Arabic ي/ك): diacritics and tatweel are dropped,
hamza-carrying letters become their plain forms, digits become ASCII and a zero-width non-joiner
becomes a space, so «شرکت‌های»، «شرکت های» and «شركت هاي» read alike.
"""

import re
from functools import lru_cache

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
    return set().union(*(_word_features(word, sizes) for word in words(text)))


@lru_cache(maxsize=16_384)  # about 1.5 kB a word: at most some 25 MB
def _word_features(word: str, sizes: range) -> frozenset[str]:
    """One word's features: cases share most of their words, so each is cut into n-grams once per process."""
    padded = f" {word} "
    return frozenset((word, *(padded[start:start + size] for size in sizes for start in range(len(padded) - size + 1))))
