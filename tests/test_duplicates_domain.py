"""The duplicate rule: distinctive words of names, weighed with distance."""
import pytest

from assetmap.domain.duplicates import distinctive_words, is_likely_duplicate, name_similarity, place_words

OSWESTRY_AREAS = place_words(["Oswestry East", "Shropshire"])


@pytest.mark.parametrize("a, b, metres, expected", [
    ("Oswestry Knit and Natter", "Oswestry", 133, False),  # the town's name is not a match
    ("Oswestry Library", "Oswestry Town Library", 20, True),
    ("Oswestry Knit and Natter", "Oswestry Knit & Natter Group", 40, True),
    ("Oswestry Library", "Oswestry Foodbank", 10, False),
    ("St Oswald's Church", "St Oswalds Church Hall", 25, True),
    ("Oswestry Library", "Oswestry Library", 151, False),  # too far to be the same door
    ("Shropshire Libraries", "Shropshire Library", 10, True),  # a typo-sized difference
    ("Oswestry", "OSWESTRY", 100, True),
    ("East Oswestry Bowls Club", "Oswestry Cricket Club", 60, False),
    ("Oswestry Singing for the Brain <b>", "Oswestry Singing Group", 25, True),  # at the same door
    ("Oswestry Singing for the Brain", "Oswestry Singing Group", 60, True),
    ("Oswestry Singing for the Brain", "Oswestry Singing Group", 150, False),  # down the road
])
def test_is_likely_duplicate(a, b, metres, expected):
    assert is_likely_duplicate(a, b, metres, OSWESTRY_AREAS) is expected


def test_nearer_places_need_less_alike_names():
    a, b = "Castle View Community Garden", "Castle View Allotments"
    assert 0.5 <= name_similarity(a, b, OSWESTRY_AREAS) < 0.8
    assert is_likely_duplicate(a, b, 15, OSWESTRY_AREAS)
    assert not is_likely_duplicate(a, b, 100, OSWESTRY_AREAS)


def test_generic_and_place_words_are_dropped():
    assert distinctive_words("The Oswestry East Centre for Carers", OSWESTRY_AREAS) == ("carer",)
