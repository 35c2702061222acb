"""Security headers, the CSP nonce on inline scripts, and the health checks."""
import re

from tests.factories import make_asset


def test_html_pages_carry_a_strict_csp_with_a_nonce_on_every_inline_script(client, db_session):
    make_asset(db_session, "A place")
    response = client.get("/areas/E06000051")
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    html = response.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_hsts_behind_tls(client):
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_nonce_differs_per_request(client):
    a = client.get("/areas/E06000051").headers["Content-Security-Policy"]
    b = client.get("/areas/E06000051").headers["Content-Security-Policy"]
    assert a != b


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"


def test_errors_are_json_under_api_and_html_elsewhere(client):
    assert client.get("/api/v1/nothing-here").get_json()["error"]["status"] == 404
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "text/html" in page.content_type


def _app_whose_database_is_down(db_url):
    from sqlalchemy.exc import OperationalError

    from assetmap.web import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test"})

    def down():
        raise OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))

    app.add_url_rule("/down", view_func=down)
    app.add_url_rule("/api/v1/down", view_func=down, endpoint="api_down")
    return app


def test_a_database_outage_is_a_clear_503_with_retry_after_never_a_500(db_url):
    client = _app_whose_database_is_down(db_url).test_client()
    page = client.get("/down")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "not reachable just now" in page.get_data(as_text=True)
    api = client.get("/api/v1/down")
    assert api.status_code == 503 and api.get_json()["error"]["status"] == 503


def test_cors_opens_the_public_data_and_nothing_else(client, db_session):
    """One rule (assetmap.web.cors): the read-only data any origin may read, errors included;
    the pages and forms stay same-origin."""
    make_asset(db_session, "A place")
    opened = ["/api/v1/categories", "/api/v1/assets?postcode=SY11%201PW", "/api/v1/assets?lat=99&lon=0",
              "/api/openapi.json", "/oruk/", "/oruk/services", "/oruk/services/not-a-uuid",
              "/exports/areas/E06000051/assets.csv", "/exports/areas/E06000051/assets.geojson"]
    for path in opened:
        response = client.get(path)
        assert response.headers.get("Access-Control-Allow-Origin") == "*", (path, response.status_code)
    for path in ("/find", "/areas/E06000051", "/contribute/new", "/login", "/healthz", "/api/docs"):
        assert "Access-Control-Allow-Origin" not in client.get(path).headers, path
