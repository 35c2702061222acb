"""Making text inert before Folium puts it into HTML inside JavaScript template strings.

Folium writes popup and tooltip HTML into JavaScript template literals (`...`): it escapes the
backtick in popups but not ``${...}`` interpolation, and escapes neither in tooltips. So every
piece of text that reaches a map is HTML-escaped here, and the three characters that mean
something inside a template literal (backtick, dollar, backslash) become HTML entities too:
the browser shows them as typed, and the JavaScript parser never sees them.
"""
from __future__ import annotations

import html

_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def inert(text: object) -> str:
    """HTML-escape ``text`` and neutralise JavaScript template-literal syntax.

    >>> inert("<script>alert(`x${1}`)</script>")
    '&lt;script&gt;alert(&#96;x&#36;{1}&#96;)&lt;/script&gt;'
    >>> inert(None)
    ''
    """
    if text is None:
        return ""
    return html.escape(str(text), quote=True).translate(_TEMPLATE_LITERAL)
