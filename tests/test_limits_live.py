"""Limits that hold across servers: two gunicorn servers (two workers each) on one database and
one Redis count one client's sign-in attempts together, behind a trusted proxy that names the
client in X-Forwarded-For."""
from __future__ import annotations

import random
import re

import requests

from tests.live import committed_clone, gunicorn_server, redis_url


def _attempt(base: str, client: str, http: requests.Session) -> tuple[int, requests.Response]:
    page = http.get(base + "/login", headers={"X-Forwarded-For": client}, timeout=30)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    response = http.post(base + "/login", data={"email": f"{client}@example.org", "password": "wrong guess",
                                                "csrf_token": token.group(1)},
                         headers={"X-Forwarded-For": client}, timeout=30)
    return response.status_code, response


def test_two_servers_share_one_clients_sign_in_limit(db_url, tmp_path):
    client = f"198.51.100.{random.randint(1, 254)}"  # a fresh address: counts in a shared Redis persist
    other = f"203.0.113.{random.randint(1, 254)}"
    with committed_clone(db_url, "limits_live") as url, redis_url(tmp_path / "redis") as redis:
        env = {"DATABASE_URL": url, "REDIS_URL": redis, "SECRET_KEY": "two-servers", "ASSETMAP_TRUSTED_PROXIES": "1",
               "ASSETMAP_INSTANCE_DIR": str(tmp_path / "instance")}
        with gunicorn_server(env, log=tmp_path / "a.log") as a, gunicorn_server(env, log=tmp_path / "b.log") as b:
            http = requests.Session()
            statuses = [_attempt(base, client, http)[0] for base in (a, b, a, b, a)]
            assert statuses == [400] * 5  # wrong passwords, within the limit of 5 a minute
            status, refused = _attempt(b, client, http)
            assert status == 429, (tmp_path / "b.log").read_text()[-2000:]
            assert "Please try again in" in refused.text and 1 <= int(refused.headers["Retry-After"]) <= 60
            assert _attempt(a, client, http)[0] == 429  # the other server agrees
            assert _attempt(a, other, http)[0] == 400  # another client behind the same proxy is not blocked
