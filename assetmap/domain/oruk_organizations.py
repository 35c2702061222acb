"""Open Referral UK ``organization`` objects: who runs the published services.

Writing only: :func:`organization_summary_json` for a ``/organizations`` list item and
:func:`organization_json` for ``/organizations/{id}`` (with the organisation's services), from the
organisation dicts :mod:`assetmap.db.oruk_queries` returns (uuid, name, description, url, email, source_id)
and the asset groups of its services. An organisation's third-party identifiers come from its key
(:func:`assetmap.domain.organisations.identifiers`).

No Flask and no SQL here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from assetmap.domain.organisations import identifiers
from assetmap.domain.oruk_common import derived_id
from assetmap.domain.oruk_write import organization_base_json, service_json, service_summary_json
from assetmap.errors import BadInputError

__all__ = ["organization_json", "organization_summary_json", "parse_full_service"]

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


def parse_full_service(args: Mapping[str, str]) -> bool:
    """The ``full_service`` flag of ``/organizations/{id}``: true nests each service whole.

    Raises
    ------
    BadInputError
        For anything but true/false (or 1/0, yes/no).

    Examples
    --------
    >>> parse_full_service({"full_service": "True"}), parse_full_service({})
    (True, False)
    """
    raw = str(args.get("full_service") or "").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise BadInputError(f"full_service must be true or false, not {args.get('full_service')!r}")
    return raw in _TRUE


def organization_summary_json(org: Mapping) -> dict:
    """The one-to-one fields of an organisation (a ``/organizations`` list item).

    Examples
    --------
    >>> organization_summary_json({"uuid": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610", "name": "BOOTS UK LIMITED",
    ...                            "description": None, "url": "not a url", "email": None})
    {'id': 'd9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610', 'name': 'BOOTS UK LIMITED', 'description': 'BOOTS UK LIMITED'}
    """
    return organization_base_json(org)


def _identifiers_json(org: Mapping, org_id: str) -> list[dict]:
    out = []
    for found in identifiers(org.get("source_id")):
        entry = {
            "id": str(derived_id(f"organization_identifier:{found.kind}", org_id)),
            "organization_id": org_id,
            "identifier_scheme": found.scheme,
            "identifier_type": found.kind,
            "identifier": found.identifier,
        }
        out.append({k: v for k, v in entry.items() if v is not None})
    return out


def organization_json(org: Mapping, services: Sequence[Sequence[Mapping]], full_service: bool = False) -> dict:
    """An ORUK ``organization`` with its identifiers and services (``GET /organizations/{id}``).

    ``services`` holds each service's published assets (as :func:`service_json` takes them);
    ``full_service`` nests each service whole, else its one-to-one fields. The organisation is
    not repeated inside its services (their ``organization_id`` names it).

    Examples
    --------
    >>> org = {"uuid": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610", "name": "The Surgery", "source_id": "ODS-M82002"}
    >>> out = organization_json(org, [])
    >>> out["services"], out["organization_identifiers"][0]["identifier"]
    ([], 'M82002')
    """
    out = organization_summary_json(org)
    out["organization_identifiers"] = _identifiers_json(org, out["id"])
    write = service_json if full_service else service_summary_json
    out["services"] = []
    for assets in services:
        service = write(assets)
        service.pop("organization", None)
        out["services"].append(service)
    return out
