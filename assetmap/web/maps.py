"""Putting a Folium map into a page: the app's own copies of the map scripts, and the data's
attribution and last-updated date on the map itself (the footer says it in full)."""
from __future__ import annotations

import folium
from flask import url_for

from assetmap.db.catalogue import data_sources
from assetmap.domain.attribution import map_credit
from assetmap.maps.escape import inert
from assetmap.maps.offline import add_attribution, render_parts
from assetmap.web.db import get_session


def vendor_url(path: str) -> str:
    return url_for("vendor.vendor_file", filename=path)


def data_attribution() -> str:
    """Publishers of the loaded data and when it was last loaded, as inert text."""
    return inert(map_credit(data_sources(get_session())))


def map_parts(m: folium.Map) -> dict[str, str]:
    """``header``, ``html`` and ``script`` of ``m`` for a page template, attribution added."""
    add_attribution(m, data_attribution())
    return render_parts(m, vendor_url, with_bootstrap=False)
