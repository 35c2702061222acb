"""Serves the map front-end packages installed from the npm registry at set-up
(static/node_modules), limited to the packages the map builders use."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("vendor", __name__)


@bp.route("/static/vendor/<path:filename>")
def vendor_file(filename: str):
    from assetmap.maps.offline import VENDOR_PACKAGES

    package = filename.split("/", 2)
    name = "/".join(package[:2]) if filename.startswith("@") else package[0]
    if name not in VENDOR_PACKAGES:
        abort(404)
    response = send_from_directory(current_app.static_folder + "/node_modules", filename, max_age=86400)
    return response
