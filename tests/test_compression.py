"""Compressed responses: the gap page, its tiles and the app's scripts go out compressed when the
client accepts it; a page carrying a CSRF token never does (BREACH)."""
import gzip
import re

from assetmap.config import PROJECT_DIR
from tests.test_gaps_web import QUERY, tile_url

GZIP = {"Accept-Encoding": "gzip, deflate"}


def test_the_gap_page_is_compressed_after_its_nonces_are_added(gclient):
    response = gclient.get(f"/plan?{QUERY}&level=lsoa", headers=GZIP)
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    html = gzip.decompress(response.data).decode()
    assert int(response.headers["Content-Length"]) == len(response.data) < len(html) / 3
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
    assert html.count("L.vectorGrid.protobuf(") == 4


def test_tiles_are_compressed_and_decode_to_the_same_bytes(gclient):
    url = tile_url(gclient.get(f"/plan?{QUERY}&level=lsoa").get_data(as_text=True))
    url = url.replace("{z}/{x}/{y}", "8/125/83")
    plain = gclient.get(url)
    packed = gclient.get(url, headers=GZIP)
    assert "Content-Encoding" not in plain.headers and len(plain.data) > 1000
    assert packed.headers["Content-Encoding"] == "gzip" and len(packed.data) < len(plain.data)
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["Cache-Control"] == plain.headers["Cache-Control"]


def test_the_apps_scripts_are_compressed(client):
    path = "leaflet/dist/leaflet.js"
    response = client.get(f"/static/vendor/{path}", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip" and "ETag" in response.headers
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert gzip.decompress(response.data) == (PROJECT_DIR / "static" / "node_modules" / path).read_bytes()
    response.close()
    again = client.get(f"/static/vendor/{path}", headers={**GZIP, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    again.close()
    part = client.get(f"/static/vendor/{path}", headers={**GZIP, "Range": "bytes=0-99"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers and len(part.data) == 100
    part.close()


def test_a_page_with_a_csrf_token_is_never_compressed(client):
    response = client.get("/login", headers=GZIP)
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    # the same client's plain pages still are
    home = client.get("/", headers=GZIP)
    assert home.headers["Content-Encoding"] == "gzip" and b"csrf_token" not in gzip.decompress(home.data)
