"""Signing in and out (Flask-Login). Passwords are checked against salted hashes; sign-in is
rate-limited per address and per account; the session cookie is HttpOnly, SameSite=Lax, and
Secure when the site is served over HTTPS (``ASSETMAP_BASE_URL``; see :func:`assetmap.config.load_config`).

Cookies name the account by its id and its current session token (``<id>:<token>``), checked on
every request: signing out, a new password or deactivation draws a new token
(:func:`assetmap.db.users.end_sessions`), so every session and remember-me cookie issued before
stops working, on every device."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError

from assetmap.db import users
from assetmap.domain.permissions import can_manage_users, can_moderate, can_upload
from assetmap.domain.validation import is_digits
from assetmap.web.contribute_forms import LoginForm, form_expired
from assetmap.web.db import get_session
from assetmap.web.extensions import limiter

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
bp.register_error_handler(CSRFError, form_expired)


class SignedInUser(UserMixin):
    """The signed-in account as the views see it (the password hash is never loaded into it)."""

    def __init__(self, data: dict):
        self.id, self.email, self.name = data["id"], data["email"], data["name"]
        self.role, self.active = data["role"], data["active"]
        self._session_token = data["session_token"]

    def get_id(self) -> str:
        """What the session and remember-me cookies hold: the id and the account's session token."""
        return f"{self.id}:{self._session_token}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def can_moderate(self) -> bool:
        return can_moderate(self)

    @property
    def can_upload(self) -> bool:
        return can_upload(self)

    @property
    def can_manage_users(self) -> bool:
        return can_manage_users(self)


@login_manager.user_loader
def _load_user(cookie_id: str):
    user_id, _, token = cookie_id.partition(":")
    if not is_digits(user_id, 9) or not token:
        return None
    data = users.session_user(get_session(), int(user_id), token)
    return SignedInUser(data) if data else None


def init_app(app) -> None:
    """Flask-Login and the cookie settings; call once from the app factory."""
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=14))
    app.config.setdefault("ASSETMAP_LOGIN_RATE_LIMIT", "5 per minute")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


def safe_next(target: str | None) -> str | None:
    r"""``target`` if it is a path on this site, else None.

    Browsers drop tabs and line breaks from a URL and read ``\`` as ``/``, so ``/\t/evil.example/``
    or ``/\evil.example`` would take the visitor to another site: any control character, backslash,
    scheme or host refuses the target, as does a path starting ``//``.

    Examples
    --------
    >>> [safe_next(t) for t in ("/moderate?page=2", "/\t/evil.example/", "//evil.example", "/\\evil.example",
    ...                         "https://evil.example/", "javascript:alert(1)", " /x", "/ok#frag")]
    ['/moderate?page=2', None, None, None, None, None, None, '/ok#frag']
    """
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("//"):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["ASSETMAP_LOGIN_RATE_LIMIT"]


def _email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(lambda: "20 per hour", key_func=_email_key, methods=["POST"])
def login():
    form = LoginForm()
    error = None
    status = 200
    if request.method == "POST":
        user = users.authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            next_url = safe_next(request.args.get("next"))
            session.clear()  # a fresh session for the signed-in user
            login_user(SignedInUser(user), remember=bool(form.remember.data))
            home = url_for("moderate.queue") if SignedInUser(user).can_moderate else url_for("public.home")
            return redirect(next_url or home)
        error, status = "The email address or password is not right.", 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    users.end_sessions(get_session(), current_user.id)
    get_session().commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("public.home"))


def current_user_id() -> int | None:
    """The signed-in user's id, or None."""
    return current_user.id if current_user.is_authenticated else None
