"""The one way the application writes CSV: a header row first, then the rows, quoted by the csv
module's rules, with every cell a spreadsheet would read as a formula neutralised.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)``), so it is written with a
leading ``'`` as OWASP advises; numbers (``-3.05``, ``+1e3``) are left as they are so that columns of
numbers stay numbers. Whatever describes the table (parameters, attribution, when it was made) goes
in a companion ``.meta.json``, never in the CSV, so ``pandas.read_csv`` and Excel open it as a table.

No Flask and no SQL here.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence

__all__ = ["FORMULA_STARTS", "csv_text", "safe_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def safe_cell(value) -> str:
    """A value as CSV cell text, neutralised if a spreadsheet would run it as a formula.

    Examples
    --------
    >>> safe_cell("=cmd|' /C calc'!A0")
    "'=cmd|' /C calc'!A0"
    >>> [safe_cell(v) for v in ("+44 1691 123456", "@SUM(A1)", "\\t=1", "-x", "Hall")]
    ["'+44 1691 123456", "'@SUM(A1)", "'\\t=1", "'-x", 'Hall']
    >>> [safe_cell(v) for v in (-3.05, "-3.05", 2.0, 7, None, True, float("nan"))]
    ['-3.05', '-3.05', '2', '7', '', 'True', '']
    """
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence], *, bom: bool = True) -> str:
    """CSV text of ``header`` then ``rows``: RFC 4180 line ends, minimal quoting, every cell through
    :func:`safe_cell`, and a byte order mark (``bom``) so that Excel reads it as UTF-8.

    Examples
    --------
    >>> csv_text(["name", "cost"], [["Hall, Morda", "=1+1"], ["Chapel", 2.5]], bom=False)
    'name,cost\\r\\n"Hall, Morda",\\'=1+1\\r\\nChapel,2.5\\r\\n'
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return ("\ufeff" if bom else "") + out.getvalue()
