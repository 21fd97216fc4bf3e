"""Finding the routing keywords (hub_shared/reference/topics.yaml) in a citizen's text.

Terms match as whole words or phrases on the folded text (hub_intake.classify.text): Arabic ي/ك, a
zero-width non-joiner, a space or no space between the words of a phrase all read alike, and a word may
carry a plural suffix (ها، های، هایی، ان) or, after a vowel, the written ezafe (ی، ای): «کارفرمای»، «بیمه‌ای».
A bare ی after a consonant is not accepted, so a surname like «نجفی» does not read as «نجف». Only vocabulary
ids come out.
"""

import re
from collections.abc import Iterable

from hub_intake.classify.text import fold
from hub_shared.reference import RoutingKeyword

MAX_KEYWORDS = 20  # CaseRegistered carries at most this many
_PLURALS = (" ?هایی", " ?های", " ?ها", "ان")


class KeywordFinder:
    def __init__(self, vocabulary: Iterable[RoutingKeyword]) -> None:
        # each keyword's pattern, and the first word of each of its terms: a term matches only where its first word
        # is written out, so a keyword none of whose first words is in the text is passed over without its pattern
        self._patterns = [(keyword.id, tuple({fold(term).split()[0] for term in keyword.terms}),
                           re.compile("|".join(_pattern(term) for term in keyword.terms)))
                          for keyword in vocabulary]

    def find(self, text: str) -> list[str]:
        """The ids of the keywords in `text`, in vocabulary order, at most MAX_KEYWORDS."""
        folded = fold(text)
        return [id_ for id_, first_words, pattern in self._patterns
                if any(word in folded for word in first_words) and pattern.search(folded)][:MAX_KEYWORDS]


def _pattern(term: str) -> str:
    pieces = [re.escape(word) + _suffixes(word) for word in fold(term).split()]
    return r"(?<!\w)" + " ?".join(pieces) + r"(?!\w)"


def _suffixes(word: str) -> str:
    ezafe = ("ی",) if word.endswith(("ا", "و")) else (" ?ای", " ?ی") if word.endswith("ه") else ()
    return "(?:" + "|".join((*_PLURALS, *ezafe)) + ")?"
