"""Sessions that end: signing out, a new password or deactivation ends every session and
remember-me cookie of the account; ``next`` goes only to this site; weak passwords are refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import text

from assetmap.db import users
from assetmap.domain.passwords import check_password
from assetmap.errors import BadInputError
from tests.contribute_fixtures import PASSWORD, csrf_token, make_user


def _signed_in(app, email: str, remember: bool = False):
    client = app.test_client()
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302
    assert client.get("/moderate").status_code == 200
    return client


def _cookies(client) -> dict[str, str]:
    return {c.key: c.value for c in client._cookies.values()}


def _replay(app, cookies: dict[str, str]):
    """A new browser holding copies of another's cookies (as a thief who saved them would)."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def test_a_saved_session_cookie_stops_working_after_sign_out(app, db_session):
    make_user(db_session, "mod@example.org", "moderator")
    client = _signed_in(app, "mod@example.org", remember=True)
    saved = _cookies(client)
    assert "remember_token" in saved and _replay(app, saved).get("/moderate").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/moderate")}).status_code == 302
    assert _replay(app, saved).get("/moderate").status_code == 302  # the session cookie
    assert _replay(app, {"remember_token": saved["remember_token"]}).get("/moderate").status_code == 302


def test_sign_out_on_one_device_ends_the_others(app, db_session):
    make_user(db_session, "mod@example.org", "moderator")
    laptop, phone = _signed_in(app, "mod@example.org"), _signed_in(app, "mod@example.org", remember=True)
    assert laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/moderate")}).status_code == 302
    assert phone.get("/moderate").status_code == 302


def test_a_new_password_ends_every_session(app, db_session):
    user = make_user(db_session, "mod@example.org", "moderator")
    client = _signed_in(app, "mod@example.org", remember=True)
    users.set_password(db_session, user["id"], "a brand new passphrase")
    assert client.get("/moderate").status_code == 302


def test_deactivation_ends_every_session(app, db_session):
    make_user(db_session, "admin@example.org", "admin")
    user = make_user(db_session, "mod@example.org", "moderator")
    client = _signed_in(app, "mod@example.org", remember=True)
    actor = SimpleNamespace(**users.authenticate(db_session, "admin@example.org", PASSWORD))
    users.set_role(db_session, actor, user["id"], "moderator", active=False)
    assert client.get("/moderate").status_code == 302
    users.set_role(db_session, actor, user["id"], "moderator", active=True)
    assert client.get("/moderate").status_code == 302  # reactivating does not bring old sessions back


def test_the_remember_token_changes_with_each_sign_in_after_a_sign_out(app, db_session):
    make_user(db_session, "mod@example.org", "moderator")
    first = _signed_in(app, "mod@example.org", remember=True)
    token = _cookies(first)["remember_token"]
    first.post("/logout", data={"csrf_token": csrf_token(first, "/moderate")})
    second = _signed_in(app, "mod@example.org", remember=True)
    assert _cookies(second)["remember_token"] != token
    stored = db_session.execute(text("SELECT session_token FROM app_user WHERE email = 'mod@example.org'")).scalar()
    assert len(stored) == 64 and stored not in token.split("|")[0].split(":")[0]


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/\t/evil.example/", "/%5Cevil.example", "/\\evil.example",
                                    "//evil.example/", "https://evil.example/", "javascript:alert(1)",
                                    "/%0A/evil.example", "%2F%2Fevil.example"])
def test_next_never_leaves_the_site(app, db_session, target):
    make_user(db_session, "mod@example.org", "moderator")
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(f"/login?next={target}",
                           data={"email": "mod@example.org", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/moderate"


def test_next_within_the_site_is_kept(app, db_session):
    make_user(db_session, "mod@example.org", "moderator")
    client = app.test_client()
    response = client.post("/login?next=/moderate/stale%3Fpage%3D2", data={
        "email": "mod@example.org", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"] == "/moderate/stale?page=2"


@pytest.mark.parametrize("password, reason", [
    ("aaaaaaaaaa", "at least 12"), ("aaaaaaaaaaaaaaaa", "repeated"), ("abcabcabcabc", "repeated"),
    ("Password1234", "most common"), ("qwertyuiop123", "most common"), ("1q2w3e4r5t6y", "most common"),
    ("short", "at least 12")])
def test_weak_passwords_are_refused(db_session, password, reason):
    with pytest.raises(BadInputError, match=reason):
        check_password(password)
    with pytest.raises(BadInputError, match=reason):
        users.create_user(db_session, "weak@example.org", password, "volunteer")


def test_a_good_password_is_accepted(db_session):
    check_password("a meadow of oxlips")
    assert users.create_user(db_session, "ok@example.org", "a meadow of oxlips", "volunteer")["email"]
