"""The licence and attribution that go with the data, in each form a response carries them.

Every data source loaded (a row of the ``dataset`` table, read by
:func:`assetmap.db.catalogue.data_sources`: ``key``, ``title``, ``publisher``, ``licence``,
``attribution``, ``last_imported_at``) asks to be credited. The JSON APIs and the gap exports
carry :func:`data_meta`; the Open Referral UK API and the asset exports :func:`oruk_meta`; maps
:func:`map_credit`; a response that shows one source's data (a postcode's position)
:func:`source_meta`. All of them credit a source by its attribution, else by its title, and
name :data:`DEFAULT_LICENCE` when no source names a licence.

No Flask and no SQL here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

__all__ = [
    "DEFAULT_LICENCE",
    "attribution_by_source",
    "attribution_lines",
    "data_meta",
    "licence_text",
    "map_credit",
    "oruk_meta",
    "source_meta",
]

DEFAULT_LICENCE = "Open Government Licence v3.0"


def licence_text(sources: Sequence[Mapping]) -> str:
    """The sources' licences, each once, alphabetically, joined by "; ".

    >>> licence_text([{"licence": "Credit Give Food"}, {"licence": DEFAULT_LICENCE}, {"licence": None}])
    'Credit Give Food; Open Government Licence v3.0'
    >>> licence_text([])
    'Open Government Licence v3.0'
    """
    return "; ".join(sorted({s["licence"] for s in sources if s.get("licence")})) or DEFAULT_LICENCE


def attribution_lines(sources: Sequence[Mapping]) -> list[str]:
    """One credit per source: its attribution, else its title.

    >>> attribution_lines([{"title": "Food banks", "attribution": "Food bank data from Give Food."},
    ...                    {"title": "Uploaded lists", "attribution": None}])
    ['Food bank data from Give Food.', 'Uploaded lists']
    """
    return [s.get("attribution") or s["title"] for s in sources]


def data_meta(sources: Sequence[Mapping]) -> dict:
    """``{"licence": text, "attribution": [one line per source]}``: the ``meta`` of the JSON API
    (/api/v1), the gap API and the gap exports (which add their own members)."""
    return {"licence": licence_text(sources), "attribution": attribution_lines(sources)}


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def oruk_meta(sources: Sequence[Mapping]) -> dict:
    """Licence, attribution (one text) and the sources, as the Open Referral UK API and the asset
    exports carry them. Members that would be null are left out (the ORUK schemas allow no null).

    Examples
    --------
    >>> meta = oruk_meta([{"title": "Food banks", "publisher": "Give Food", "licence": "Credit Give Food",
    ...                    "attribution": "Food bank data from Give Food.", "last_imported_at": None}])
    >>> meta["licence"], meta["attribution"], meta["sources"]  # doctest: +NORMALIZE_WHITESPACE
    ('Credit Give Food', 'Food bank data from Give Food.',
     [{'title': 'Food banks', 'publisher': 'Give Food', 'licence': 'Credit Give Food'}])
    """
    return {
        "licence": licence_text(sources),
        "attribution": " ".join(attribution_lines(sources)),
        "sources": [
            {k: v for k, v in {"title": s["title"], "publisher": s.get("publisher"), "licence": s.get("licence"),
                               "updated": _timestamp(s.get("last_imported_at"))}.items() if v is not None}
            for s in sources
        ],
    }


def source_meta(sources: Sequence[Mapping], fallback_attribution: str) -> dict:
    """``{"licence", "attribution"}`` of the one source a response's data comes from (the first of
    ``sources``), with ``fallback_attribution`` while it is not loaded.

    >>> source_meta([], "Contains OS data")
    {'licence': 'Open Government Licence v3.0', 'attribution': 'Contains OS data'}
    """
    source = sources[0] if sources else {}
    return {"licence": licence_text([source]), "attribution": source.get("attribution") or fallback_attribution}


def map_credit(sources: Sequence[Mapping]) -> str:
    """The short credit a map carries: the publishers and when the data was last loaded (plain
    text; the caller escapes it). Empty when nothing is loaded.

    >>> from datetime import datetime
    >>> map_credit([{"title": "Food banks", "publisher": "Give Food", "last_imported_at": datetime(2026, 3, 5)},
    ...             {"title": "Libraries", "publisher": None, "last_imported_at": datetime(2026, 1, 2)}])
    'Data: Give Food; Libraries (updated 5 Mar 2026)'
    """
    if not sources:
        return ""
    publishers = sorted({s.get("publisher") or s["title"] for s in sources})
    latest = max(s["last_imported_at"] for s in sources)
    return f"Data: {'; '.join(publishers)} (updated {latest:%-d %b %Y})"


def attribution_by_source(sources: Sequence[Mapping], dataset_of: Mapping[str, str]) -> dict[str, str]:
    """The attribution to print beside each asset, by the asset's ``source``.

    An asset's ``source`` is a dataset key, or a name (an importer's format) that ``dataset_of``
    maps to one.

    >>> attribution_by_source([{"key": "givefood", "attribution": "Give Food."}], {"food": "givefood", "x": "y"})
    {'givefood': 'Give Food.', 'food': 'Give Food.'}
    """
    by_key = {s["key"]: s["attribution"] for s in sources if s.get("attribution")}
    out = dict(by_key)
    for source, key in dataset_of.items():
        if key in by_key:
            out[source] = by_key[key]
    return out
