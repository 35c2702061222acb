"""Who runs an asset: how an organisation named by a source is keyed, identified and given its id.

A source names an organisation by its own identifier when it has one (a GP practice's ODS code, a
charity number), else by its name. That key, written by :func:`ods_key` or :func:`charity_key` (or
the name itself), is the organisation's ``source_id``; its UUID is derived from the source and that
key (:func:`assetmap.domain.identities.organisation_uuid`), so rebuilding the database from the
same files gives the same ids.
Organisations that come with their own UUID (an Open Referral feed) keep it.

No Flask and no SQL here.
"""
from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "KEEPS_ITS_OWN_UUID",
    "OrganisationIdentifier",
    "charity_key",
    "identifiers",
    "ods_key",
]

#: Sources whose organisations carry their publisher's UUID, which is kept as it is.
KEEPS_ITS_OWN_UUID = frozenset({"oruk"})

# Key prefix → (org-id.guide scheme, what the identifier is). ODS codes have no org-id.guide list
# of their own, so only the type says what they are.
_PREFIXES: dict[str, tuple[str | None, str]] = {
    "GB-CHC-": ("GB-CHC", "Charity number (England and Wales)"),
    "GB-SC-": ("GB-SC", "Charity number (Scotland)"),
    "GB-NIC-": ("GB-NIC", "Charity number (Northern Ireland)"),
    "ODS-": (None, "NHS ODS code"),
}


def ods_key(code: str) -> str:
    """The key of an organisation known by its NHS ODS code.

    >>> ods_key(" m82002 ")
    'ODS-M82002'
    """
    return f"ODS-{code.strip().upper()}"


def charity_key(number: str) -> str | None:
    """The key of a registered charity from its number as a list gives it; None when it is none.

    England and Wales numbers are six or seven digits (a "-1" suffix numbers a linked charity
    of the same one); Scottish ones are SC and six digits; Northern Irish ones NIC and digits.

    Examples
    --------
    >>> charity_key("1143519"), charity_key("SC 039018"), charity_key("1143519-1"), charity_key("n/a")
    ('GB-CHC-1143519', 'GB-SC-SC039018', 'GB-CHC-1143519', None)
    >>> charity_key("NIC100002")
    'GB-NIC-100002'
    """
    text = re.sub(r"\s+", "", number or "").upper()
    if found := re.fullmatch(r"(\d{6,7})(?:-\d+)?", text):
        return f"GB-CHC-{found.group(1)}"
    if re.fullmatch(r"SC\d{6}", text):
        return f"GB-SC-{text}"
    if found := re.fullmatch(r"NIC(\d{5,6})", text):
        return f"GB-NIC-{found.group(1)}"
    return None


class OrganisationIdentifier(NamedTuple):
    """A third-party identifier of an organisation."""

    scheme: str | None  # its org-id.guide list, when it has one
    kind: str  # what it is, in words
    identifier: str


def identifiers(source_id: str | None) -> list[OrganisationIdentifier]:
    """The third-party identifiers an organisation's key holds (none for a name).

    Examples
    --------
    >>> identifiers("GB-CHC-1143519")[0].identifier
    '1143519'
    >>> identifiers("ODS-M82002")
    [OrganisationIdentifier(scheme=None, kind='NHS ODS code', identifier='M82002')]
    >>> identifiers("BOOTS UK LIMITED")
    []
    """
    for prefix, (scheme, kind) in _PREFIXES.items():
        if source_id and source_id.startswith(prefix) and len(source_id) > len(prefix):
            return [OrganisationIdentifier(scheme, kind, source_id[len(prefix):])]
    return []
