"""The vintages of need data a profile or an area listing can be built on, each with its geography.

IoD 2025 is published on LSOA 2021 (area level ``lsoa21``) and weighted by Census 2021 usual
residents; IoD 2019 on LSOA 2011 (level ``lsoa``) with its own mid-2015 populations (migration
0012). IoD 2025 is the current vintage and the default; IoD 2019 stays available as the earlier
one. A figure is always of one vintage: its LSOAs, their population and their indicators.
"""
from __future__ import annotations

from dataclasses import dataclass

from assetmap.domain.gap_analysis import DEFAULT_INDICATOR, EARLIER_DEFAULT_INDICATOR
from assetmap.domain.validation import is_digits
from assetmap.errors import BadInputError

__all__ = ["CURRENT", "CURRENT_LSOA_LEVEL", "EARLIER", "LSOA_LEVELS", "VINTAGES", "Vintage", "parse_vintage",
           "vintage_args", "vintage_on"]


@dataclass(frozen=True)
class Vintage:
    """One vintage of the Indices of Deprivation and the small areas it is published on."""

    #: The IoD's year.
    year: int
    #: The ``area.level`` of its LSOAs.
    lsoa_level: str
    #: Its geography, as shown ("LSOA 2021").
    geography: str
    #: Where the LSOAs' ``area.population`` comes from, as shown.
    population: str
    #: How many LSOAs England's ranks run over (rank 1 = most deprived).
    ranked: int
    #: The key of its IMD rank, the need a gap run uses by default.
    imd_key: str

    @property
    def label(self) -> str:
        """ "IoD 2025 on LSOA 2021"."""
        return f"IoD {self.year} on {self.geography}"

    @property
    def lsoas(self) -> str:
        """Its LSOAs in the plural: "LSOAs 2021"."""
        return self.geography.replace("LSOA ", "LSOAs ", 1)


#: The current vintage (the default everywhere) and the earlier one.
CURRENT, EARLIER = 2025, 2019
VINTAGES = {
    CURRENT: Vintage(CURRENT, "lsoa21", "LSOA 2021", "Census 2021", 33_755, DEFAULT_INDICATOR),
    EARLIER: Vintage(EARLIER, "lsoa", "LSOA 2011", "mid-2015", 32_844, EARLIER_DEFAULT_INDICATOR),
}
#: The LSOA levels, oldest vintage first.
LSOA_LEVELS = tuple(VINTAGES[y].lsoa_level for y in sorted(VINTAGES))
#: The level of current LSOAs: what counts an area's assets and people unless a vintage is asked for.
CURRENT_LSOA_LEVEL = VINTAGES[CURRENT].lsoa_level


def parse_vintage(value: str | int | None, default: int = CURRENT) -> Vintage:
    """The vintage a query asks for (its IoD year), ``default`` when none is given.

    >>> parse_vintage(None).lsoa_level, parse_vintage("2019").lsoa_level
    ('lsoa21', 'lsoa')
    >>> parse_vintage("2019").label, parse_vintage("2019").lsoas
    ('IoD 2019 on LSOA 2011', 'LSOAs 2011')
    >>> parse_vintage("2015")
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: unknown vintage '2015'; allowed: 2025, 2019
    >>> parse_vintage("²⁰¹⁹")
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: unknown vintage '²⁰¹⁹'; allowed: 2025, 2019
    """
    if value is None or str(value).strip() == "":
        return VINTAGES[default]
    text = str(value).strip()
    year = int(text) if is_digits(text, 4) else None
    if year not in VINTAGES:
        allowed = [str(y) for y in VINTAGES]
        raise BadInputError(f"unknown vintage {text!r}; allowed: {', '.join(allowed)}",
                            details={"parameter": "vintage", "allowed": allowed})
    return VINTAGES[year]


def vintage_on(lsoa_level: str | None) -> Vintage | None:
    """The vintage published on LSOAs of ``lsoa_level`` (an ``area.level``), or None for a level
    no vintage has.

    >>> vintage_on("lsoa").year, vintage_on("lsoa21").year
    (2019, 2025)
    >>> vintage_on("ward24") is None
    True
    """
    return next((v for v in VINTAGES.values() if v.lsoa_level == lsoa_level), None)


def vintage_args(vintage: Vintage | None, default: Vintage) -> dict:
    """The URL arguments of a link to a profile (or the profiles page) on ``vintage``, where
    ``default`` is the vintage profiles are built on when none is asked for: none for that one
    (or for None), else its year.

    >>> vintage_args(VINTAGES[EARLIER], VINTAGES[CURRENT]), vintage_args(VINTAGES[CURRENT], VINTAGES[CURRENT])
    ({'vintage': 2019}, {})
    """
    return {} if vintage is None or vintage == default else {"vintage": vintage.year}
