"""Accounts: creating them, checking passwords, roles. Passwords are kept only as salted hashes
(werkzeug.security's scrypt); users come back as plain dicts without the hash."""
from __future__ import annotations

import hmac
import secrets
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from assetmap.db.models import Role, User
from assetmap.domain.passwords import check_password
from assetmap.domain.permissions import ROLES, check_role_change
from assetmap.domain.validation import validate_email
from assetmap.errors import BadInputError, ConflictError, NotFoundError


@cache
def _dummy_hash() -> str:
    """Checked against when there is no such user, so a wrong email takes as long as a wrong password."""
    return generate_password_hash("not a password of anyone's")


def _as_dict(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "active": user.active, "created_at": user.created_at, "session_token": user.session_token}


def create_user(session: Session, email: str, password: str, role: str = "volunteer", name: str | None = None) -> dict:
    """Create an account; the email is kept as typed and matched without regard to case.

    Raises
    ------
    BadInputError
        Malformed email, unknown role, or a password :func:`assetmap.domain.passwords.check_password`
        refuses.
    ConflictError
        An account with that email exists.
    """
    clean, error = validate_email(email, required=True)
    if error:
        raise BadInputError(error)
    if role not in ROLES:
        raise BadInputError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    check_password(password)
    if session.scalar(select(User.id).where(func.lower(User.email) == clean.lower())) is not None:
        raise ConflictError(f"there is already an account for {clean}")
    user = User(email=clean, name=(name or "").strip() or None, password_hash=generate_password_hash(password),
                role=Role(role), active=True, session_token=secrets.token_hex(32))
    session.add(user)
    session.flush()
    return _as_dict(user)


def authenticate(session: Session, email: str, password: str) -> dict | None:
    """The active user with this email and password, or None (for any reason: no hint which)."""
    user = session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return _as_dict(user)


def get_user(session: Session, user_id: int) -> dict | None:
    user = session.get(User, user_id)
    return _as_dict(user) if user is not None else None


def session_user(session: Session, user_id: int, token: str) -> dict | None:
    """The active user whose current session token is ``token`` (from a session or remember-me
    cookie), or None: a token drawn before the last sign-out, password change or deactivation
    no longer names anyone."""
    user = session.get(User, user_id)
    if user is None or not user.active or not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return _as_dict(user)


def end_sessions(session: Session, user_id: int) -> None:
    """Draw a new session token for the account, ending every session and remember-me cookie it has."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_token = secrets.token_hex(32)
        session.flush()


def list_users(session: Session) -> list[dict]:
    """Every account, admins first, then by email."""
    order = {role: i for i, role in enumerate(("admin", "moderator", "planner", "volunteer"))}
    users = [_as_dict(u) for u in session.scalars(select(User).order_by(User.email, User.id))]
    return sorted(users, key=lambda u: (order.get(u["role"], 9), u["email"].lower(), u["id"]))


def set_role(session: Session, actor, user_id: int, role: str, active: bool = True) -> dict:
    """Change an account's role and whether it may log in, keeping at least one active admin.

    Raises
    ------
    NotFoundError
        No such account.
    assetmap.domain.permissions.RoleChangeError
        The actor is not an admin, the role is unknown, or no active admin would be left.
    """
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFoundError(f"no account {user_id}")
    others = session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.admin, User.active.is_(True), User.id != user_id)
    )
    check_role_change(actor, user_id, role, active=active, other_active_admins=others)
    if user.active and not active:
        user.session_token = secrets.token_hex(32)  # a deactivated account is signed out everywhere
    user.role, user.active = Role(role), active
    session.flush()
    return _as_dict(user)


def set_password(session: Session, user_id: int, password: str) -> None:
    check_password(password)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no account {user_id}")
    user.password_hash = generate_password_hash(password)
    user.session_token = secrets.token_hex(32)  # a new password signs out every other session
    session.flush()
