"""Signing in and out: hashed passwords, safe redirects, cookie flags, rate limits, and the
`assetmap user create` command for the first admin."""
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db import users
from tests.contribute_fixtures import PASSWORD, csrf_token, make_user, sign_in


def test_passwords_are_stored_only_as_salted_hashes(db_session):
    make_user(db_session, "a@example.org", "moderator")
    make_user(db_session, "b@example.org", "moderator")
    hashes = [h for (h,) in db_session.execute(text("SELECT password_hash FROM app_user ORDER BY id"))]
    assert all(PASSWORD not in h and h.startswith(("scrypt:", "pbkdf2:")) for h in hashes)
    assert hashes[0] != hashes[1]  # salted
    assert users.authenticate(db_session, "A@Example.org ", PASSWORD)["role"] == "moderator"
    assert users.authenticate(db_session, "a@example.org", "wrong password") is None
    assert users.authenticate(db_session, "nobody@example.org", PASSWORD) is None


def test_sign_in_goes_to_the_queue_and_sign_out_ends_the_session(app, db_session):
    make_user(db_session, "mod@example.org", "moderator")
    client = app.test_client()
    response = sign_in(client, "mod@example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/moderate"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/moderate").status_code == 200
    token = csrf_token(client, "/moderate")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/moderate").status_code == 302


def test_wrong_password_and_inactive_accounts_get_the_same_answer(app, db_session):
    user = make_user(db_session, "mod@example.org", "moderator")
    client = app.test_client()
    response = sign_in(client, "mod@example.org", "not the password")
    assert response.status_code == 400
    assert "The email address or password is not right." in response.get_data(as_text=True)
    db_session.execute(text("UPDATE app_user SET active = false WHERE id = :i"), {"i": user["id"]})
    response = sign_in(client, "mod@example.org")
    assert response.status_code == 400


def test_next_goes_only_to_this_site(app, db_session):
    make_user(db_session, "mod@example.org", "moderator")
    for target, expected in [("/moderate/stale", "/moderate/stale"), ("//evil.example/x", "/moderate"),
                             ("https://evil.example/", "/moderate")]:
        client = app.test_client()
        token = csrf_token(client, "/login")
        response = client.post("/login", query_string={"next": target},
                               data={"email": "mod@example.org", "password": PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == expected


def test_secure_cookies_in_production(db_url):
    from assetmap.web import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False,
                      "ASSETMAP_ENV": "production", "ASSETMAP_BASE_URL": "https://map.example.org"})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    # Served over plain HTTP (no TLS proxy): a Secure cookie would never come back, so it is not.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False,
                      "ASSETMAP_ENV": "production", "ASSETMAP_BASE_URL": "http://map.example.org"})
    assert app.config["SESSION_COOKIE_SECURE"] is False and app.config["REMEMBER_COOKIE_SECURE"] is False


def test_sign_in_is_rate_limited(db_url, db_conn, db_session):
    from assetmap.web import create_app

    make_user(db_session, "mod@example.org", "moderator")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"})
    app.extensions["assetmap.session_factory"] = lambda: Session(
        bind=db_conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    client = app.test_client()
    token = csrf_token(client, "/login")
    statuses = [client.post("/login", data={"email": "mod@example.org", "password": f"guess {i}",
                                            "csrf_token": token}).status_code for i in range(6)]
    assert statuses == [400] * 5 + [429]


def test_cli_creates_the_first_admin(runner, db_url, monkeypatch):
    from assetmap.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    result = runner.invoke(main, ["user", "create", "--email", "first-admin@example.org", "--role", "admin",
                                  "--password", "a long admin password"])
    try:
        assert result.exit_code == 0, result.output
        assert "created admin first-admin@example.org" in result.output
        result = runner.invoke(main, ["user", "create", "--email", "first-admin@example.org", "--password",
                                      "a long admin password"])
        assert result.exit_code != 0 and "already an account" in result.output
        result = runner.invoke(main, ["user", "create", "--email", "x@example.org", "--password", "short"])
        assert result.exit_code != 0 and "at least 12 characters" in result.output
        result = runner.invoke(main, ["user", "create", "--email", "y@example.org", "--role", "moderator"],
                               input="prompted password\nprompted password\n")
        assert result.exit_code == 0, result.output
    finally:
        # The command commits on its own connection: remove what it made.
        from assetmap.db.engine import session_scope

        with session_scope(db_url) as s:
            s.execute(text("DELETE FROM app_user WHERE email IN ('first-admin@example.org', 'y@example.org')"))
