"""Who may do what. Views ask these questions; they never compare roles themselves.

A *user* is anything with ``role`` (a :class:`~assetmap.db.models.Role` or its value) and
optionally ``active`` and ``is_authenticated`` (Flask-Login's anonymous user has neither role nor
id, and may do none of this). An *asset* is a mapping or object with ``status``.

Roles
-----
volunteer
    Suggests new assets and changes like anyone else; an account only saves typing the email.
planner
    Reads need and provision; uploads lists of assets (to moderation) and need indicators;
    suggests changes like a volunteer.
moderator
    Reviews the queue, edits, archives and restores assets, marks them verified.
admin
    Everything a moderator and a planner do; publishes an uploaded list at once; manages
    accounts and roles.

No Flask and no SQL here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assetmap.errors import BadInputError

__all__ = [
    "ROLES",
    "ROLE_LABELS",
    "RoleChangeError",
    "can_edit",
    "can_manage_users",
    "can_moderate",
    "can_publish_upload",
    "can_see_every_upload",
    "can_upload",
    "check_role_change",
    "role_of",
]

ROLES = ("volunteer", "moderator", "planner", "admin")
ROLE_LABELS = {
    "volunteer": "Volunteer",
    "moderator": "Moderator",
    "planner": "Planner",
    "admin": "Administrator",
}
_MODERATING = frozenset({"moderator", "admin"})
_UPLOADING = frozenset({"planner", "admin"})


class RoleChangeError(BadInputError):
    """A role change that would leave the service without an administrator, or is not a role."""

    http_status = 400


def role_of(user: Any) -> str | None:
    """The role of ``user`` as a string, or None for anonymous, inactive or unknown users.

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> role_of(U(role="moderator", active=True))
    'moderator'
    >>> role_of(U(role="admin", active=False)) is None
    True
    >>> role_of(None) is None
    True
    """
    if user is None or getattr(user, "is_authenticated", True) is False:
        return None
    if getattr(user, "active", True) is False:
        return None
    role = getattr(user, "role", None)
    role = getattr(role, "value", role)
    return role if role in ROLES else None


def can_moderate(user: Any) -> bool:
    """Whether ``user`` may see the moderation queue, review, edit, archive, restore and verify.

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> can_moderate(U(role="moderator")), can_moderate(U(role="volunteer")), can_moderate(U(role="admin"))
    (True, False, True)
    """
    return role_of(user) in _MODERATING


def can_edit(user: Any, asset: Mapping[str, Any] | Any) -> bool:
    """Whether ``user`` may change ``asset`` directly (everyone else suggests a change).

    Moderators and admins may edit any asset, archived ones included (to restore them); nobody
    edits a rejected submission, which stays as it was sent, for the record.

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> can_edit(U(role="moderator"), {"status": "published"})
    True
    >>> can_edit(U(role="moderator"), {"status": "rejected"})
    False
    >>> can_edit(U(role="planner"), {"status": "published"})
    False
    """
    status = asset.get("status") if isinstance(asset, Mapping) else getattr(asset, "status", None)
    status = getattr(status, "value", status)
    return can_moderate(user) and status != "rejected"


def can_upload(user: Any) -> bool:
    """Whether ``user`` may upload a list of assets or a need indicator (planners and admins).

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> [can_upload(U(role=r)) for r in ("planner", "admin", "moderator", "volunteer")]
    [True, True, False, False]
    >>> can_upload(U(role="planner", active=False))
    False
    """
    return role_of(user) in _UPLOADING


def can_publish_upload(user: Any) -> bool:
    """Whether ``user`` may publish an uploaded list at once, without moderation (admins only).

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> can_publish_upload(U(role="admin")), can_publish_upload(U(role="planner"))
    (True, False)
    """
    return role_of(user) == "admin"


def can_see_every_upload(user: Any) -> bool:
    """Whether ``user`` may see and carry on with anyone's uploads, not only their own (admins).

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> can_see_every_upload(U(role="admin")), can_see_every_upload(U(role="planner"))
    (True, False)
    """
    return role_of(user) == "admin"


def can_manage_users(user: Any) -> bool:
    """Whether ``user`` may create accounts and change roles (admins only).

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> can_manage_users(U(role="admin")), can_manage_users(U(role="moderator"))
    (True, False)
    """
    return role_of(user) == "admin"


def check_role_change(actor: Any, target_id: int, new_role: str, *, active: bool, other_active_admins: int) -> None:
    """Refuse a role change ``actor`` may not make, or one that leaves no active administrator.

    Parameters
    ----------
    actor : the user making the change
    target_id : the id of the account being changed
    new_role : the role it would have
    active : whether it would be active
    other_active_admins : how many active admins there are besides the target

    Raises
    ------
    RoleChangeError
        Unknown role, the actor is not an admin, or the last active admin would be lost.

    Examples
    --------
    >>> from types import SimpleNamespace as U
    >>> check_role_change(U(role="admin", id=1), 2, "moderator", active=True, other_active_admins=1)
    >>> check_role_change(U(role="admin", id=1), 1, "volunteer", active=True,
    ...                   other_active_admins=0)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    RoleChangeError: the service needs at least one active administrator
    """
    if new_role not in ROLES:
        raise RoleChangeError(f"unknown role {new_role!r}; choose one of: {', '.join(ROLES)}")
    if not can_manage_users(actor):
        raise RoleChangeError("only an administrator can change roles")
    if (new_role != "admin" or not active) and other_active_admins == 0:
        raise RoleChangeError("the service needs at least one active administrator")
