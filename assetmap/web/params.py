"""Request input every view shares: one way to read a whole-number query parameter, and the checks
every request gets before any view runs.

PostgreSQL stores no NUL character in text and compares none either, so a NUL anywhere in the
query, the form, a file name or the path is refused here once, as a 400 naming the parameter, rather
than failing deep in a query. ``<int:...>`` in a route is bounded to a database integer, so an id too
big for the column is a 404 like any other unknown id. A JSON body nested deeper than the parser can
follow is a 400 too.
"""
from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter

from assetmap.domain.validation import whole_number_arg
from assetmap.errors import BadInputError

__all__ = ["DB_INT_MAX", "DatabaseInteger", "init_app", "int_arg"]

DB_INT_MAX = 2**31 - 1  # PostgreSQL's integer


class DatabaseInteger(IntegerConverter):
    """``<int:...>`` that matches only values a PostgreSQL integer column can hold."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = DB_INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def int_arg(name: str, default: int, lo: int = 1, hi: int = DB_INT_MAX) -> int:
    """The whole-number query parameter ``name`` of this request (see
    :func:`assetmap.domain.validation.whole_number_arg`)."""
    return whole_number_arg(request.args, name, default, lo, hi)


def _nul(name: str, where: str) -> BadInputError:
    return BadInputError(f"{where} {name[:40]!r} holds a NUL character (\\0), which is never valid here",
                         details={"parameter": name[:40]})


def refuse_hostile_input() -> None:
    """Refuse NUL characters anywhere in the request, and JSON too deeply nested to parse."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            raise _nul(name, "the address part")
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise _nul(name, "the parameter")
    if request.method in ("POST", "PUT", "PATCH"):
        for name, value in request.form.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise _nul(name, "the field")
        for name, file in request.files.items(multi=True):
            if "\x00" in name or "\x00" in (file.filename or ""):
                raise _nul(name, "the file name of")
        if request.is_json:
            try:
                request.get_json(silent=True)
            except RecursionError:
                raise BadInputError("the JSON body is nested too deeply to read") from None


def init_app(app) -> None:
    """Install the bounded integer converter (before any route is added) and the input check."""
    app.url_map.converters["int"] = DatabaseInteger
    app.before_request(refuse_hostile_input)
