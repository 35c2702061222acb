"""When an entry is "stale": nobody has checked it for ``ASSETMAP_STALE_MONTHS`` calendar months.

An entry was last checked when a moderator last verified it (or approved a change to it), else
when it was added. Stale entries sink to the end of the finder's results and its API, fill the
moderators' stale list, and get reminder emails (:mod:`assetmap.mail`). Each of them asks
:func:`stale_before` for the cutoff; SQL compares with it, Python with :func:`is_stale`. The
number of months is a setting, read once, in :func:`assetmap.config.stale_months`.

No Flask and no SQL here.
"""
from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["is_stale", "last_checked", "months_before", "stale_before"]


def months_before(at: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (the day clamped to the month's length).

    Examples
    --------
    >>> from datetime import UTC
    >>> months_before(datetime(2026, 3, 31, 9, 0, tzinfo=UTC), 13).isoformat()
    '2025-02-28T09:00:00+00:00'
    """
    index = at.year * 12 + at.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    last_day = (datetime(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return at.replace(year=year, month=month, day=min(at.day, last_day))


def stale_before(now: datetime, months: int) -> datetime:
    """Entries last checked before this moment are stale.

    >>> from datetime import UTC
    >>> stale_before(datetime(2026, 6, 15, tzinfo=UTC), 12).date().isoformat()
    '2025-06-15'
    """
    return months_before(now, months)


def last_checked(last_verified_at: datetime | None, created_at: datetime) -> datetime:
    """When an entry was last checked: verified, else added."""
    return last_verified_at or created_at


def is_stale(last_verified_at: datetime | None, created_at: datetime, now: datetime, months: int) -> bool:
    """Whether an entry verified at ``last_verified_at`` (None: never) and added at ``created_at``
    is stale at ``now``.

    >>> from datetime import UTC
    >>> now = datetime(2026, 6, 15, tzinfo=UTC)
    >>> is_stale(None, datetime(2025, 6, 14, tzinfo=UTC), now, 12)
    True
    >>> is_stale(datetime(2026, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC), now, 12)
    False
    """
    return last_checked(last_verified_at, created_at) < stale_before(now, months)
