"""Is a place someone is adding already on the map? Name similarity weighed with distance.

Two names match on the words that tell places apart. The words every place nearby may share (the
town's name, the ward's name, "the", "and", "St") say nothing: "Oswestry Knit and Natter" is not
"Oswestry" (the library), while "Oswestry Library" is "Oswestry Town Library". The closer two
places are, the less alike their names need to be.

No Flask and no SQL here: the database finds the places near the point and the names of the areas
around it (:func:`assetmap.db.moderation.find_duplicates`), and this module decides.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher

__all__ = ["GENERIC_WORDS", "distinctive_words", "is_likely_duplicate", "name_similarity", "place_words"]

#: Words that do not tell one place from another, whatever the town.
GENERIC_WORDS = frozenset({
    "a", "an", "and", "at", "by", "for", "in", "of", "on", "the", "to", "with",
    "st", "saint", "town", "city", "village", "upper", "lower", "north", "south", "east", "west",
    "central", "centre", "center", "ltd", "limited", "cic", "uk",
    # What kind of body it is says little about which one: "Singing Group" is the "Singing Club".
    "group", "club", "society", "association", "project", "service",
})
_WORD = re.compile(r"[a-z0-9]+")
#: Two words count as the same word when they read this alike ("natter" and "nattter").
_SAME_WORD = 0.85


def _words(name: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("'s", "s").replace("&", " and ")
    return [_singular(word) for word in _WORD.findall(folded)]


def _singular(word: str) -> str:
    """"libraries" and "library", "groups" and "group" are one word (but not "bus" and "bu")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def place_words(place_names: Iterable[str | None]) -> frozenset[str]:
    """The words of the names of the town and areas around a point: generic there.

    Examples
    --------
    >>> sorted(place_words(["Oswestry East", "Shropshire", None]))
    ['east', 'oswestry', 'shropshire']
    """
    return frozenset(word for name in place_names if name for word in _words(name))


def distinctive_words(name: str, generic: Iterable[str] = ()) -> tuple[str, ...]:
    """The words of a name that tell it apart: not generic, not the places around it.

    Examples
    --------
    >>> distinctive_words("Oswestry Knit & Natter", {"oswestry"})
    ('knit', 'natter')
    >>> distinctive_words("St Oswald's Church", set())
    ('oswald', 'church')
    """
    generic = GENERIC_WORDS | frozenset(generic)
    return tuple(word for word in _words(name) if word not in generic and len(word) > 1)


def _same_word(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 4 and SequenceMatcher(None, a, b).ratio() >= _SAME_WORD)


def name_similarity(a: str, b: str, generic: Iterable[str] = ()) -> float:
    """How alike two names are, from 0 to 1, on their distinctive words.

    The share of the shorter name's distinctive words found in the longer name's (so a name
    with a word added, "Knit and Natter Group", still matches). A name that is only generic
    words matches only the same name.

    Examples
    --------
    >>> name_similarity("Oswestry Library", "Oswestry Town Library", {"oswestry"})
    1.0
    >>> name_similarity("Oswestry Knit and Natter", "Oswestry", {"oswestry"})
    0.0
    >>> name_similarity("Oswestry", "oswestry", {"oswestry"})
    1.0
    >>> round(name_similarity("Holy Trinity Church Hall", "Holy Trinity Church", ()), 2)
    0.93
    >>> name_similarity("Oswestry Library", "Oswestry Foodbank", {"oswestry"})
    0.0
    """
    generic = frozenset(generic)
    words_a, words_b = distinctive_words(a, generic), distinctive_words(b, generic)
    if not words_a or not words_b:
        return 1.0 if _words(a) == _words(b) else 0.0
    shorter, longer = sorted((words_a, words_b), key=len)
    found = sum(any(_same_word(word, other) for other in longer) for word in shorter)
    # A long name sharing one word with a short one is weaker than two names sharing all.
    return found / len(shorter) * (len(shorter) / len(longer)) ** 0.25


def is_likely_duplicate(a: str, b: str, distance_m: float, generic: Iterable[str] = ()) -> bool:
    """Whether ``b``, ``distance_m`` metres away, is likely the place ``a``.

    At the same door (within 25 m) names need to share half their telling words; the further
    apart, the more of them, up to nearly all at 150 m; beyond that, none is a duplicate.

    Examples
    --------
    >>> is_likely_duplicate("Oswestry Knit and Natter", "Oswestry", 133, {"oswestry"})
    False
    >>> is_likely_duplicate("Oswestry Library", "Oswestry Town Library", 20, {"oswestry"})
    True
    >>> is_likely_duplicate("Oswestry Knit and Natter", "Oswestry Knit & Natter Group", 35, {"oswestry"})
    True
    >>> is_likely_duplicate("Oswestry Library", "Oswestry Library Annexe", 1100, {"oswestry"})
    False
    """
    if distance_m > 150:
        return False
    needed = 0.5 + 0.35 * max(0.0, distance_m - 25) / 125
    return name_similarity(a, b, generic) >= needed
