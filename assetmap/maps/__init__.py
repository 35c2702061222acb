"""Maps: folium maps served with the app's own copies of Leaflet and its plugins."""
from assetmap.maps.offline import (
    CDN_TO_VENDOR,
    DEFAULT_ATTRIBUTION,
    DEFAULT_TILE_URL,
    VENDOR_FILES,
    VENDOR_PACKAGES,
    UnknownAssetError,
    localise,
    make_map,
    render_parts,
    vendor_path,
)

__all__ = [
    "CDN_TO_VENDOR",
    "DEFAULT_ATTRIBUTION",
    "DEFAULT_TILE_URL",
    "UnknownAssetError",
    "VENDOR_FILES",
    "VENDOR_PACKAGES",
    "localise",
    "make_map",
    "render_parts",
    "vendor_path",
]
