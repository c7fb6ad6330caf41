"""Logging filters that keep clinical detail out of logs.

A query string can carry what a person typed (a search term, a filter), so request lines
are logged with the path only.
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?[^\s\"]*")


def without_query(text: str) -> str:
    """``GET /patients/?q=alvarez HTTP/1.1`` → ``GET /patients/ HTTP/1.1``."""
    return _QUERY.sub("", text)


class StripQueryStrings(logging.Filter):
    """For the development server's request log (``django.server``) and anything else that
    logs a request line: drop query strings from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = without_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(without_query(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True
