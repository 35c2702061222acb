"""What makes a password acceptable: long enough, not one of the passwords everyone tries first, and
not one character (or a short run) repeated. Asked when an account is made and when its password
changes; signing in checks only the hash.

The list of common passwords ships with the application (``data/common-passwords.txt``).

No Flask and no SQL here.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from assetmap.errors import BadInputError

__all__ = ["COMMON_PASSWORDS_FILE", "MIN_PASSWORD_LENGTH", "check_password", "is_common"]

MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[2] / "data" / "common-passwords.txt"
_REPEATED_RUN = re.compile(r"^(.{1,4})\1+$", re.DOTALL)
_TRAILING = re.compile(r"[\d\W_]+$")


@cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """Whether the password, ignoring case and any digits or marks added at its end, is on the list.

    Examples
    --------
    >>> [is_common(p) for p in ("Password1234", "qwertyuiop!!", "correct horse battery")]
    [True, True, False]
    """
    lowered = password.lower()
    return lowered in _common() or _TRAILING.sub("", lowered) in _common()


def check_password(password: str | None) -> None:
    """Refuse a password that is too short, common, or one character or short run repeated.

    Raises
    ------
    BadInputError
        Saying which rule it breaks.

    Examples
    --------
    >>> check_password("aaaaaaaaaaaa")
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: the password must not be one character or a few characters repeated
    >>> check_password("a meadow of oxlips")
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInputError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if _REPEATED_RUN.match(password):
        raise BadInputError("the password must not be one character or a few characters repeated")
    if is_common(password):
        raise BadInputError("that password is one of the most common ones, which are tried first: choose another")
