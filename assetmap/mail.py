"""Reminder emails to the contacts of assets nobody has checked for a while.

An asset not checked for ``ASSETMAP_STALE_MONTHS`` months (12 by default) gets up to three
emails, each ``ASSETMAP_REMINDER_INTERVAL_DAYS`` days (14) after the one before: *first*,
*reminder* and *urgent*. Checking it (a moderator's "verified today", or an approved change)
starts the count again. The mail goes through the SMTP server in the ``ASSETMAP_SMTP_*``
settings (see :class:`MailSettings`); ``assetmap remind stale`` runs it, from cron or a timer.

Deciding and writing the emails (:func:`next_stage`, :func:`compose_reminder`) is plain Python;
:func:`send_stale_reminders` does the sending and the bookkeeping.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.orm import Session

from assetmap import config
from assetmap.errors import BadInputError

__all__ = ["STAGES", "MailSettings", "ReminderReport", "compose_digest", "compose_reminder", "next_stage",
           "send_stale_reminders"]

STAGES = ("first", "reminder", "urgent")


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send mail, and the numbers behind the reminders.

    Read from the environment by :meth:`from_env`:

    ``ASSETMAP_SMTP_HOST`` (localhost), ``ASSETMAP_SMTP_PORT`` (25, or 587 with STARTTLS, 465 with
    SSL), ``ASSETMAP_SMTP_SECURITY`` (``none``, ``starttls`` or ``ssl``; ``starttls`` when a user
    name is set, else ``none``), ``ASSETMAP_SMTP_USERNAME``, ``ASSETMAP_SMTP_PASSWORD``,
    ``ASSETMAP_MAIL_FROM``, ``ASSETMAP_BASE_URL`` (the site's address, for the links in the mail),
    ``ASSETMAP_STALE_MONTHS`` (12) and ``ASSETMAP_REMINDER_INTERVAL_DAYS`` (14).
    """

    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "assetmap <noreply@localhost>"
    base_url: str = "http://127.0.0.1:5000"
    stale_months: int = config.DEFAULT_STALE_MONTHS
    interval_days: int = 14
    timeout: float = 30.0

    def __post_init__(self):
        if self.security not in ("none", "starttls", "ssl"):
            raise BadInputError(f"ASSETMAP_SMTP_SECURITY must be none, starttls or ssl, not {self.security!r}")
        if self.stale_months < 1 or self.interval_days < 1:
            raise BadInputError("ASSETMAP_STALE_MONTHS and ASSETMAP_REMINDER_INTERVAL_DAYS must be 1 or more")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if env is None else env
        username = env.get("ASSETMAP_SMTP_USERNAME") or None
        security = env.get("ASSETMAP_SMTP_SECURITY") or ("starttls" if username else "none")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}.get(security, 25)
        try:
            return cls(
                host=env.get("ASSETMAP_SMTP_HOST", "localhost"),
                port=int(env.get("ASSETMAP_SMTP_PORT") or default_port),
                security=security,
                username=username,
                password=env.get("ASSETMAP_SMTP_PASSWORD") or None,
                sender=env.get("ASSETMAP_MAIL_FROM", cls.sender),
                base_url=env.get("ASSETMAP_BASE_URL", cls.base_url).rstrip("/"),
                stale_months=config.stale_months(env),
                interval_days=int(env.get("ASSETMAP_REMINDER_INTERVAL_DAYS") or 14),
            )
        except ValueError as exc:
            raise BadInputError(f"a mail setting is not a number: {exc}") from None


def next_stage(last_stage: str | None, last_sent_at: datetime | None, now: datetime, interval_days: int) -> str | None:
    """Which reminder is due for a stale asset, or None (not yet, or all three sent).

    ``last_stage``/``last_sent_at`` describe the last reminder sent since it was last checked.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> now = datetime(2026, 6, 1, tzinfo=UTC)
    >>> next_stage(None, None, now, 14)
    'first'
    >>> next_stage("first", datetime(2026, 5, 25, tzinfo=UTC), now, 14) is None  # only 7 days
    True
    >>> next_stage("first", datetime(2026, 5, 1, tzinfo=UTC), now, 14)
    'reminder'
    >>> next_stage("urgent", datetime(2026, 1, 1, tzinfo=UTC), now, 14) is None
    True
    """
    if last_stage is None:
        return STAGES[0]
    if last_stage not in STAGES:
        raise ValueError(f"unknown reminder stage {last_stage!r}")
    index = STAGES.index(last_stage)
    if index == len(STAGES) - 1 or last_sent_at is None or now - last_sent_at < timedelta(days=interval_days):
        return None
    return STAGES[index + 1]


def _one_line(text: object) -> str:
    return " ".join(str(text or "").split())


def compose_reminder(asset: Mapping, stage: str, settings: MailSettings, now: datetime) -> EmailMessage:
    """The email for one stage of reminder about ``asset`` (``id``, ``name``, ``email``, ``checked_at``).

    Plain text: the name is the asset's own text, never markup.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> asset = {"id": 7, "name": "Hub\\nBcc: x@example.com", "email": "a@example.org",
    ...          "checked_at": datetime(2025, 1, 2, tzinfo=UTC)}
    >>> msg = compose_reminder(asset, "first", MailSettings(base_url="https://map.example.org"),
    ...                        datetime(2026, 1, 1, tzinfo=UTC))
    >>> msg["Subject"]
    'Is "Hub Bcc: x@example.com" still right on the community map?'
    >>> "https://map.example.org/contribute/change/7" in msg.get_content()
    True
    """
    if stage not in STAGES:
        raise ValueError(f"unknown reminder stage {stage!r}")
    name = _one_line(asset["name"])
    checked = asset["checked_at"].strftime("%-d %B %Y") if asset.get("checked_at") else "a long time ago"
    change_url = f"{settings.base_url}/contribute/change/{asset['id']}"
    problem_url = f"{settings.base_url}/contribute/problem/{asset['id']}"
    subject = {
        "first": f'Is "{name}" still right on the community map?',
        "reminder": f'Reminder: please check "{name}" on the community map',
        "urgent": f'Last reminder: "{name}" on the community map needs checking',
    }[stage]
    opening = {
        "first": f"{name} is listed on the community map, and nobody has checked its details since {checked}.",
        "reminder": f"We wrote a little while ago: nobody has checked the details of {name} since {checked}.",
        "urgent": (f"This is our last reminder: nobody has checked the details of {name} since {checked}. "
                   "Until someone does, the map says it has not been checked, and people may go elsewhere."),
    }[stage]
    body = f"""Hello,

{opening}

People use the map to find groups and places near them, so it matters that it is right.

- If something has changed (opening times, contact details, what it offers), please tell us:
  {change_url}
- If it has closed, or is in the wrong place, please report it:
  {problem_url}
- If everything is still right, just reply to this email to say so.

Thank you,
The community map team
"""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = _one_line(asset["email"])
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="assetmap")
    msg.set_content(body)
    return msg


def compose_digest(email: str, items: list[tuple[Mapping, str]], settings: MailSettings, now: datetime) -> EmailMessage:
    """One email to ``email`` about all its due assets (``items``: (asset, stage) pairs).

    One asset: :func:`compose_reminder`. Several (a shared inbox that looks after many entries):
    one message listing each with its links, worded for the most pressing stage among them.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> when = datetime(2025, 1, 2, tzinfo=UTC)
    >>> items = [({"id": 1, "name": "Hub", "checked_at": when}, "first"),
    ...          ({"id": 2, "name": "Cafe", "checked_at": when}, "urgent")]
    >>> msg = compose_digest("a@example.org", items, MailSettings(base_url="https://map.example.org"),
    ...                      datetime(2026, 1, 1, tzinfo=UTC))
    >>> msg["Subject"], msg["To"]
    ('Last reminder: 2 places on the community map need checking', 'a@example.org')
    >>> "https://map.example.org/contribute/change/2" in msg.get_content()
    True
    """
    if len(items) == 1:
        asset, stage = items[0]
        return compose_reminder({**asset, "email": email}, stage, settings, now)
    stage = max((stage for _, stage in items), key=STAGES.index)
    count = len(items)
    subject = {
        "first": f"Are these {count} places still right on the community map?",
        "reminder": f"Reminder: please check {count} places on the community map",
        "urgent": f"Last reminder: {count} places on the community map need checking",
    }[stage]
    entries = []
    for asset, item_stage in sorted(items, key=lambda i: (_one_line(i[0]["name"]).casefold(), i[0]["id"])):
        checked = asset["checked_at"].strftime("%-d %B %Y") if asset.get("checked_at") else "a long time ago"
        note = {"first": "", "reminder": " (reminder)", "urgent": " (last reminder)"}[item_stage]
        entries.append(f"* {_one_line(asset['name'])}: last checked {checked}{note}\n"
                       f"  changes: {settings.base_url}/contribute/change/{asset['id']}\n"
                       f"  closed or wrong place: {settings.base_url}/contribute/problem/{asset['id']}")
    listing = "\n".join(entries)
    body = f"""Hello,

This address is the contact for {count} places listed on the community map, and nobody has
checked their details for a while:

{listing}

People use the map to find groups and places near them, so it matters that it is right. Please
tell us what has changed through the links above; if everything is still right, just reply to
this email to say so.

Thank you,
The community map team
"""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = _one_line(email)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="assetmap")
    msg.set_content(body)
    return msg


@dataclass
class ReminderReport:
    sent: list[tuple[int, str, str]] = field(default_factory=list)  # (asset id, stage, email)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (asset id, email, error)
    not_due: int = 0
    emails: int = 0  # messages sent (or, in a dry run, that would be): one an address
    dry_run: bool = False
    busy: bool = False  # another run held the lock: this one did nothing

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        if self.busy:
            return "another reminder run is in progress; this one sent nothing"
        by_stage = {s: sum(1 for _, stage, _ in self.sent if stage == s) for s in STAGES}
        stages = ", ".join(f"{k} {v}" for k, v in by_stage.items())
        verb = "reminders that would be sent (dry run, nothing sent)" if self.dry_run else "reminders sent"
        lines = [f"{verb}: {len(self.sent)} ({stages}) in {self.emails} email{'s' if self.emails != 1 else ''}; "
                 f"not due yet or all sent: {self.not_due}; failed: {len(self.failed)}"]
        lines += [f"  asset {a} <{e}>: {err}" for a, e, err in self.failed]
        return "\n".join(lines)


def _connect(settings: MailSettings) -> smtplib.SMTP:
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _address_key(email: str) -> str:
    """Addresses that reach the same inbox group together (case and spaces aside)."""
    return _one_line(email).casefold()


def send_stale_reminders(session: Session, settings: MailSettings, *, now: datetime | None = None,
                         sources: list[str] | None = None, dry_run: bool = False) -> ReminderReport:
    """Send the reminders that are due, one email an address, and record them in the caller's
    transaction.

    Only one run at a time: the run takes an advisory lock held until the caller's transaction
    ends (so a second run starting later sees what the first recorded); a run that finds it taken
    does nothing and reports ``busy``.

    Parameters
    ----------
    session : the caller commits (a message that was sent is recorded even if a later one fails)
    settings : SMTP server, sender, site address, months before an asset is stale, days between
    now : timezone-aware; default now
    sources : only assets from these sources (``["web"]``: the ones volunteers added); None: all
    dry_run : work out what is due, send and record nothing

    Returns
    -------
    ReminderReport
        Sent and failed messages; an SMTP refusal of one address does not stop the others.
    """
    from assetmap.db.moderation import record_reminder, reminder_candidates, try_reminder_lock

    now = now or datetime.now().astimezone()
    report = ReminderReport(dry_run=dry_run)
    if not try_reminder_lock(session):
        report.busy = True
        return report
    by_address: dict[str, tuple[str, list[tuple[Mapping, str]]]] = {}
    for asset in reminder_candidates(session, settings.stale_months, now=now, sources=sources):
        stage = next_stage(asset["last_stage"], asset["last_sent_at"], now, settings.interval_days)
        if stage is None:
            report.not_due += 1
        else:
            by_address.setdefault(_address_key(asset["email"]), (asset["email"], []))[1].append((asset, stage))
    if dry_run or not by_address:
        if dry_run:
            report.sent = [(a["id"], stage, a["email"]) for _, items in by_address.values() for a, stage in items]
            report.emails = len(by_address)
        return report
    with _connect(settings) as smtp:
        for email, items in by_address.values():
            message = compose_digest(email, items, settings, now)
            try:
                smtp.send_message(message)
            except (smtplib.SMTPException, OSError) as exc:
                error = str(exc).strip() or type(exc).__name__
                report.failed += [(asset["id"], asset["email"], error) for asset, _ in items]
                continue
            report.emails += 1
            for asset, stage in items:
                record_reminder(session, asset["id"], stage, asset["email"], now)
                report.sent.append((asset["id"], stage, asset["email"]))
    session.flush()
    return report
