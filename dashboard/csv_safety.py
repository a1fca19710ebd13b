"""CSV injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``). Every CSV Wattson
writes passes its cells through ``spreadsheet_safe``, which prefixes such text with a single quote, as OWASP
recommends. Endpoint names, tags and dismissal reasons come from people and from AWS, so none is trusted.

Writers also use ``Rfc4180``: CRLF line ends, so that a field holding a lone carriage return is quoted (with
``lineterminator="\n"`` Python's csv module leaves it bare, and the row breaks in two when read back).

Only text is changed: numbers stay numbers (-3.5 is written as -3.5). Writers that format numbers into text
themselves (the page tables) must call it for their text columns only.
"""

import csv


class Rfc4180(csv.excel):
    """Comma, double quotes when needed, CRLF between records (RFC 4180)."""

    lineterminator = "\r\n"


# OWASP's list, plus the full-width forms that some spreadsheet locales also treat as a formula's start.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value):
    """``value`` unchanged unless it is text a spreadsheet would evaluate; that text gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
