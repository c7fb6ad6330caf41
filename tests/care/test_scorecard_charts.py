"""The scorecard's charts: axes, readable labels none of which is cut, a trend per month
with the network's target, and a reversed range refused on the form and the export."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.care.scorecard import CHAR_PX, scorecard
from tests.care.helpers import advance, maple_to_northfield


def _texts(svg: str) -> list[tuple[float, str, str]]:
    """(x, text-anchor, text) of each label; a ``dx`` moves x."""
    found = []
    for attributes, text in re.findall(r"<text([^>]*)>([^<]*)</text>", svg):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', attributes))
        x = float(attrs["x"]) + float(attrs.get("dx", 0))
        found.append((x, attrs.get("text-anchor", "start"), text))
    return found


def test_a_reversed_range_is_an_error_on_the_form_and_the_export(cast, sign_in):
    admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    before = AuditEvent.objects.filter(object_type="scorecard").count()
    page = admin.get("/care/scorecard/?start=2026-06-01&end=2026-03-01")
    text = page.content.decode()
    assert page.status_code == 400 and "The end date is before the start date." in text
    assert 'value="2026-06-01"' in text and 'value="2026-03-01"' in text  # kept as typed, not swapped
    export = admin.get("/care/scorecard/?start=2026-06-01&end=2026-03-01&format=csv")
    assert export.status_code == 400 and "before the start date" in export.content.decode()
    assert AuditEvent.objects.filter(object_type="scorecard").count() == before  # nothing exported


def test_the_trend_covers_each_month_of_the_range_with_the_consult_target(cast, settings):
    referral = advance(cast, maple_to_northfield(cast), "completed")
    today = timezone.localdate()
    card = scorecard(organization=None, start=today - dt.timedelta(days=200), end=today)
    trend = {t.key: t for t in card["trends"]}
    consult = trend["days_to_consult"]
    assert len(consult.columns) in (7, 8)
    assert consult.target == 14 and consult.target_label == "Target 14 d"
    assert consult.columns[-1].value is not None and trend["referrals"].columns[-1].value == 1
    assert referral.closed_at is not None
    settings.SCORECARD_TARGETS = {"days_to_consult": 10}
    card = scorecard(organization=None, start=today - dt.timedelta(days=30), end=today)
    assert {t.key: t for t in card["trends"]}["days_to_consult"].target == 10


def test_chart_labels_are_12px_or_more_and_none_is_cut(cast, sign_in):
    advance(cast, maple_to_northfield(cast), "completed")
    advance(cast, maple_to_northfield(cast), "declined")
    admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    page = admin.get("/care/scorecard/?scope=network").content.decode()
    svgs = re.findall(r"<svg class=\"score-chart\".*?</svg>", page, flags=re.S)
    assert len(svgs) >= 7  # five month-by-month trends and the period's bar charts
    for svg in svgs:
        width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
        assert f'width="{width:g}"' in svg  # drawn at its own pixel size, not shrunk
        for x, anchor, text in _texts(svg):
            size = len(text.strip()) * CHAR_PX
            left = x - size if anchor == "end" else x - size / 2 if anchor == "middle" else x
            right = x if anchor == "end" else x + size / 2 if anchor == "middle" else x + size
            assert left >= 0 and right <= width + 1, (text, x, anchor, width)
        for y in re.findall(r'<text[^>]*? y="([\d.]+)"', svg):
            assert 12 <= float(y) <= height
    css = open("static/css/portal.css").read()
    assert ".score-chart text { fill: var(--ink); font-size: 13px; font-family: var(--font); }" in css
    assert "Month by month" in page and "Target 14 d" in page
