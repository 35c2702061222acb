"""Names as people read them: official lists shout ("BOOTS", "MARKET DRAYTON HEALTH CENTRE").

:func:`readable_name` is the one rule, applied where names are shown (the stored official name is
kept as it came). A name already in mixed case was written by a person and is left alone; a name
in capitals (or all lower case) is put in title case, keeping known acronyms ("NHS", "GP"),
postcodes and codes with digits, and the small words of English in lower case.
"""
from __future__ import annotations

import re

__all__ = ["ACRONYMS", "name_key", "readable_items", "readable_name", "tell_apart"]

#: Words kept in capitals wherever they appear in a shouted name.
ACRONYMS = frozenset({
    "NHS", "GP", "GPS", "UK", "CIC", "YMCA", "YWCA", "CAB", "CVS", "PCN", "CCG", "ICB", "LTD", "PLC", "CIO",
    "AA", "NA", "MIND", "SCVO", "RNIB", "RNID", "RSPCA", "NSPCC", "WI", "U3A", "CAMHS", "ADHD", "HIV", "LGBT",
    "LGBTQ", "LGBTQ+", "ESOL", "IT", "ICT", "TV", "DWP", "JCP", "WRVS", "RVS", "SEN", "SEND", "MP", "PCSO",
    "BP", "CHC", "MSK", "OT", "A&E", "ST", "II", "III", "IV", "VI", "VII", "VIII", "IX", "XI", "XII",
})
# Mind is a charity's name written "Mind"; "ST" reads better as "St"; Roman numerals stay.
_TITLE_NOT_UPPER = {"MIND": "Mind", "ST": "St", "LTD": "Ltd", "PLC": "plc", "LGBTQ+": "LGBTQ+"}
_SMALL = frozenset({"and", "of", "the", "in", "on", "at", "for", "to", "a", "an", "by", "with", "upon", "de"})
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&+]*")
# A full postcode or a district inside a name ("SY11 1QD", "OL3"): kept as written.
_POSTCODE_PART = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$|^\d[A-Z]{2}$")


def _shouted(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _word(word: str, first: bool) -> str:
    upper = word.upper()
    if upper in _TITLE_NOT_UPPER:
        return _TITLE_NOT_UPPER[upper]
    if upper in ACRONYMS:
        return upper
    if any(c.isdigit() for c in word) and _POSTCODE_PART.match(upper):
        return upper
    lower = word.lower()
    if not first and lower in _SMALL:
        return lower
    # Mc/Mac and O' names, and hyphen- or apostrophe-joined parts ("st. mary's", "o'neill")
    out = lower[:1].upper() + lower[1:]
    if re.match(r"o['’][a-z]", lower):
        out = out[:2] + out[2].upper() + out[3:]
    elif lower.startswith("mc") and len(lower) > 3:
        out = "Mc" + lower[2].upper() + lower[3:]
    return re.sub(r"(['’])S\b", r"\1s", out)


def readable_name(name: str | None) -> str | None:
    """A name in capitals in readable case; any other is kept as written.

    Examples
    --------
    >>> readable_name("BOOTS")
    'Boots'
    >>> readable_name("MARKET DRAYTON NHS HEALTH CENTRE")
    'Market Drayton NHS Health Centre'
    >>> readable_name("YMCA OF THE NORTH-WEST CIC")
    'YMCA of the North-West CIC'
    >>> readable_name("ST. MARY'S GP SURGERY, SY11 1QD")
    "St. Mary's GP Surgery, SY11 1QD"
    >>> readable_name("Oswestry Knit and Natter"), readable_name("McCOLL'S"), readable_name(None)
    ('Oswestry Knit and Natter', "McCOLL'S", None)
    >>> readable_name("MCCOLLS RETAIL GROUP LTD"), readable_name("1 THE CROSS, WEM")
    ('McColls Retail Group Ltd', '1 The Cross, Wem')
    """
    if not name or not _shouted(name):
        return name
    def word(match: re.Match) -> str:
        before = name[:match.start()].rstrip()
        # a new part starts after punctuation or a house number ("1 The Cross")
        return _word(match.group(), first=not before or before[-1] in "(/,:-–" or before.split()[-1][-1].isdigit())

    return _WORD.sub(word, name.strip())


def tell_apart(name: str, others: list[str], address: str | None, town: str | None) -> str | None:
    """What to add to ``name`` so it is not confused with the others shown beside it.

    ``others`` are all the names shown, this one included. Returns the street (the first part of
    the address that is not the name again), or the town when there is no address, when another
    has the same name; else None.

    Examples
    --------
    >>> tell_apart("BOOTS", ["BOOTS", "Boots", "Lloyds"], "48-50 CHESHIRE STREET, MARKET DRAYTON", None)
    '48-50 Cheshire Street'
    >>> tell_apart("Ashley Surgery", ["Ashley Surgery"] * 2, "ASHLEY SURGERY, SCHOOL LANE, ASHLEY", None)
    'School Lane'
    >>> tell_apart("Boots", ["Boots", "Lloyds"], "12 Cheshire Street", "Market Drayton") is None
    True
    """
    if sum(1 for o in others if o.casefold() == name.casefold()) < 2:
        return None
    parts = [p.strip() for p in (address or "").split(",") if p.strip() and p.strip().casefold() != name.casefold()]
    return readable_name(parts[0]) if parts else (readable_name(town) or None)


def readable_items(items: list[dict]) -> list[dict]:
    """Places as shown on a page: names and addresses in readable case (the name as published kept
    as ``official_name``), and ``tell_apart`` set where two on the page share a name.

    Examples
    --------
    >>> shown = readable_items([{"name": "MARKET DRAYTON", "address": "CHESHIRE STREET, MARKET DRAYTON"},
    ...                         {"name": "Market Drayton", "address": "The Parish Rooms, Church Street"}])
    >>> [(i["name"], i["tell_apart"]) for i in shown], shown[0]["official_name"]
    ([('Market Drayton', 'Cheshire Street'), ('Market Drayton', 'The Parish Rooms')], 'MARKET DRAYTON')
    """
    names = [i.get("name") or "" for i in items]
    out = []
    for item in items:
        shown = dict(item)
        shown["official_name"] = item.get("name")
        shown["name"] = readable_name(item.get("name"))
        for key in ("address", "town", "organisation"):
            if item.get(key):
                shown[key] = readable_name(item[key])
        shown["tell_apart"] = tell_apart(item.get("name") or "", names, item.get("address"), item.get("town"))
        out.append(shown)
    return out


def name_key(name: str) -> str:
    """A place name as compared when someone types it: case, apostrophes and punctuation ignored.

    Examples
    --------
    >>> name_key("Bishop's Castle"), name_key("  bishops-castle "), name_key("Newcastle-upon-Tyne")
    ('bishops castle', 'bishops castle', 'newcastle upon tyne')
    """
    return " ".join(re.sub(r"[^a-z0-9]+", " ", re.sub(r"['\u2019]", "", name.lower())).split())
