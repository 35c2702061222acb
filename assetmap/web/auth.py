"""Signing in and out (Flask-Login). Passwords are checked against salted hashes; sign-in is
rate-limited per address and per account; the session cookie is HttpOnly, SameSite=Lax, and
Secure when the site is served over HTTPS (``ASSETMAP_BASE_URL``; see :func:`assetmap.config.load_config`)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError

from assetmap.db import users
from assetmap.domain.permissions import can_manage_users, can_moderate, can_upload
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
def _load_user(user_id: str):
    if not user_id.isdigit():
        return None
    data = users.get_user(get_session(), int(user_id))
    return SignedInUser(data) if data and data["active"] else None


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


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//elsewhere`` or ``https://elsewhere``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


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
            next_url = _safe_next(request.args.get("next"))
            session.clear()  # a fresh session for the signed-in user
            login_user(SignedInUser(user), remember=bool(form.remember.data))
            home = url_for("moderate.queue") if SignedInUser(user).can_moderate else url_for("public.home")
            return redirect(next_url or home)
        error, status = "The email address or password is not right.", 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("public.home"))


def current_user_id() -> int | None:
    """The signed-in user's id, or None."""
    return current_user.id if current_user.is_authenticated else None
