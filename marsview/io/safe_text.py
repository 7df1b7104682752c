"""Text from partner files on its way to a terminal, a spreadsheet or a web page.

Names such as OBJECT_NAME come from files other agencies wrote: in a terminal they must not carry escape
sequences, in a CSV they must not start a formula. (HTML uses ``html.escape``.)
"""

from __future__ import annotations


def printable(text) -> str:
    """TEXT with control characters escaped (an OBJECT_NAME from a partner file may hold terminal escape
    sequences): ESC -> \\x1b, newline -> \\n."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet will not run as a formula: text starting with = + - @ tab or CR gets a
    leading apostrophe (OWASP CSV-injection advice). Numbers stay numbers (a negative miss component is data)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
