"""Helpers for the contribute / moderate / auth tests: CSRF tokens, a filled-in form, accounts,
signing in, and a small SMTP sink that keeps what it receives."""
from __future__ import annotations

import re
import socketserver
import threading
from email import message_from_bytes, policy

import pytest
from sqlalchemy import text

from assetmap.db.users import create_user

PASSWORD = "correct horse battery"
# Oswestry, Shropshire: inside the loaded areas; SY11 2AA is a real postcode there.
OSWESTRY = {"lat": 52.8600, "lon": -3.0540}
OSWESTRY_POSTCODE = "SY11 2AA"


def csrf_token(client, url: str) -> str:
    """The CSRF token of the form at ``url`` (the test client keeps the session cookie)."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def asset_form(**overrides) -> dict:
    """A valid "add a place" submission; ``None`` removes a field."""
    data = {
        "name": "Oswestry Knit and Natter",
        "description": "A friendly knitting group; tea and biscuits.",
        "asset_types": ["community-group"],
        "five_ways": ["connect", "keep-learning"],
        "postcode": OSWESTRY_POSTCODE,
        "lat": str(OSWESTRY["lat"]),
        "lon": str(OSWESTRY["lon"]),
        "address": "Church Street",
        "town": "Oswestry",
        "phone": "01691 123456",
        "email": "knit@example.org",
        "url": "www.example.org/knit",
        "hours_tue_state": "open",
        "hours_tue_times": "10:00-12:00",
        "hours_sun_state": "closed",
        "cost": "£1 for tea",
        "is_free": "no",
        "access_modes": ["drop_in"],
        "age_groups": ["adults", "older"],
        "accessibility": ["step_free"],
        "accepting_referrals": "yes",
        "submitter_email": "volunteer@example.org",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def make_user(session, email: str, role: str, password: str = PASSWORD) -> dict:
    """An account with ``role``, named after its email's local part; returns it as a dict."""
    return create_user(session, email, password, role, name=email.split("@")[0].title())


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign ``client`` in through the login form, as a browser would (with the form's CSRF token
    unless the app has CSRF off); returns the response, a redirect when the password is right.
    The account is made first, with :func:`make_user`."""
    data = {"email": email, "password": password}
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token(client, "/login")
    return client.post("/login", data=data)


@pytest.fixture
def moderator(db_session):
    return make_user(db_session, "mod@example.org", "moderator")


@pytest.fixture
def mod_client(app, moderator):
    """A test client signed in as a moderator."""
    client = app.test_client()
    response = sign_in(client, moderator["email"])
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def submit(client, **overrides):
    """Send the "add a place" form (with its CSRF token); returns the response."""
    data = asset_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/contribute")
    return client.post("/contribute", data=data)


def latest_asset_id(db_session, name: str) -> int:
    return db_session.execute(text("SELECT max(id) FROM asset WHERE name = :n"), {"n": name}).scalar_one()


def form_of(html: str) -> dict:
    """The fields of the first form with a version field (a review or edit page), as a browser sends them.

    Buttons are left out; multi-valued fields are lists.
    """
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.fields: dict = {}
            self.textarea = None
            self.select = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name:
                kind = a.get("type", "text")
                if kind in ("checkbox", "radio"):
                    if "checked" in a:
                        self.fields.setdefault(name, []).append(a.get("value", "on"))
                elif kind not in ("submit", "button"):
                    self.fields[name] = a.get("value", "")
            elif tag == "textarea" and name:
                self.textarea = name
                self.fields[name] = ""
            elif tag == "select" and name:
                self.select = name
                self.fields.setdefault(name, "")
            elif tag == "option" and self.select and "selected" in a:
                self.fields[self.select] = a.get("value", "")

        def handle_endtag(self, tag):
            if tag == "textarea":
                self.textarea = None
            elif tag == "select":
                self.select = None

        def handle_data(self, data):
            if self.textarea:
                self.fields[self.textarea] += data

    parser = Parser()
    parser.feed(html[html.index('<form method="post" novalidate'):])
    fields = parser.fields
    for name in ("is_free", "accepting_referrals", "problem_type"):
        if isinstance(fields.get(name), list):
            fields[name] = fields[name][0]
    return fields


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self._reply("220 sink ESMTP")
        sender, recipients = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._reply("250-sink")
                self._reply("250-8BITMIME")
                self._reply("250 SMTPUTF8")
            elif verb == "HELO":
                self._reply("250 sink")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(), []
                self._reply("250 OK")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().strip("<>")
                if address.endswith("@refused.example"):
                    self._reply("550 no such mailbox")
                    continue
                recipients.append(address)
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 go ahead")
                lines = []
                while True:
                    data = self.rfile.readline()
                    if data in (b".\r\n", b".\n", b""):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                self.server.messages.append({
                    "from": sender, "to": recipients,
                    "message": message_from_bytes(b"".join(lines), policy=policy.default),
                })
                self._reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[dict] = []

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def smtp_sink():
    """A local SMTP server on 127.0.0.1 (a free port) that keeps every message it is sent."""
    sink = SmtpSink()
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    yield sink
    sink.shutdown()
    sink.server_close()
    thread.join(timeout=5)
