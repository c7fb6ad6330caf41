"""Logs never carry what a person typed into a query string."""

import logging

from portal.logfilters import without_query


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_request_log_drops_query_strings():
    logger = logging.getLogger("django.server")
    capture = _Capture()
    logger.addHandler(capture)
    try:
        logger.info('"%s" %s %s', "GET /messages/?q=fever+neutropenia HTTP/1.1", "200", "5120")
        logger.info('"%s" %s %s', "POST /patients/search/ HTTP/1.1", "200", "812")
    finally:
        logger.removeHandler(capture)
    assert capture.lines == ['"GET /messages/ HTTP/1.1" 200 5120', '"POST /patients/search/ HTTP/1.1" 200 812']


def test_without_query_keeps_the_path():
    assert without_query("GET /care/scorecard/?scope=network&start=2026-11-01 HTTP/1.1") == (
        "GET /care/scorecard/ HTTP/1.1"
    )
    assert without_query("no query here") == "no query here"
