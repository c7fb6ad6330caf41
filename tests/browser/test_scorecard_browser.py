"""The scorecard with the demo network's year of history, as a browser draws it: every chart
label at least 12 px and inside its chart."""

import datetime as dt
import pathlib

import pytest
from django.utils import timezone

from portal.demo import history

pytestmark = pytest.mark.browser

CSS = pathlib.Path(__file__).resolve().parents[2] / "static" / "css"


def test_scorecard_charts_read_at_a_glance_in_a_browser(cast, sign_in, page):
    history.seed(cast)
    admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    end = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    start = (end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    html = admin.get(f"/care/scorecard/?scope=network&start={start}&end={end}").content.decode()
    page.set_content(html)
    for sheet in ("portal.css", "messaging.css"):
        page.add_style_tag(path=str(CSS / sheet))
    problems = page.evaluate(
        """() => {
        const out = [];
        for (const svg of document.querySelectorAll('svg.score-chart')) {
          const box = svg.getBoundingClientRect();
          for (const text of svg.querySelectorAll('text')) {
            if (!text.textContent.trim()) continue;
            const size = parseFloat(getComputedStyle(text).fontSize);
            const r = text.getBoundingClientRect();
            if (size < 12) out.push(['small', text.textContent, size]);
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
              out.push(['clipped', text.textContent, r.left - box.left, box.right - r.right, r.top - box.top, box.bottom - r.bottom]);
          }
          if (box.width < svg.viewBox.baseVal.width - 0.5) out.push(['shrunk', svg.getAttribute('aria-label').slice(0, 40)]);
          const card = svg.closest('figure').getBoundingClientRect();
          if (box.right > card.right || box.left < card.left) out.push(['wider than its card', svg.getAttribute('aria-label').slice(0, 40)]);
        }
        return out;
    }"""
    )
    assert problems == []
    assert page.locator("[data-testid^=trend-]").count() == 5
    assert page.locator("[data-testid=trend-referrals] rect.chart-bar").count() == 12
    page.screenshot(path="test-artifacts/screenshots/scorecard_twelve_months.png", full_page=True)
