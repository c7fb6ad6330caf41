"""The steps of the load benchmark's simulated days (``bench/locustfile.py``), as data: the
locust script sends them, and ``tests/bench/test_load_plan.py`` plays them once through
Django's test client to show that every step of a prepared plan answers (no locust needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SIGN_IN_PATH = "/accounts/login/"
SECOND_FACTOR_PATH = "/accounts/second-factor/"
REPLY_BODY = "Seen, thank you. Labs on Thursday."
REFERRAL_UPDATED = "Referral updated."


@dataclass(frozen=True)
class Step:
    """One request of a day: its name in the statistics, method, path, form (for a POST) and
    what the page it ends on (after redirects) must say for the step to count as done (an
    action the portal refused also ends on a page that answers 200)."""

    name: str
    method: str
    path: str
    data: dict[str, str] | None = None
    expect: str = ""


HOME = Step("home", "GET", "/")  # where the second factor leads


def doctor_day(*, patient: dict[str, str], thread: str) -> list[Step]:
    """A primary-care doctor: my patients, a search, a chart, an entry, the inbox, a reply."""
    return [
        Step("my patients", "GET", "/patients/"),
        Step("search", "POST", "/patients/search/", {"q": patient["search"]}),
        Step("chart", "GET", f"/patients/{patient['uuid']}/"),
        Step("an entry", "GET", f"/patients/{patient['uuid']}/entries/{patient['entry']}/"),
        Step("inbox", "GET", "/messages/"),
        Step("reply", "POST", f"/messages/{thread}/reply/", {"body": REPLY_BODY}, REPLY_BODY),
    ]


def navigator_day(*, referral: str | None, plan: dict[str, Any]) -> list[Step]:
    """A nurse navigator: the referral queue, then (while referrals wait) one referral, marked
    received (a referral is accepted from there), accepted and scheduled."""
    steps = [Step("referral queue", "GET", "/care/")]
    if referral is None:
        return steps
    return steps + [
        Step("referral", "GET", f"/care/referrals/{referral}/"),
        Step("receive", "POST", f"/care/referrals/{referral}/act/", {"action": "receive"}, REFERRAL_UPDATED),
        Step("accept", "POST", f"/care/referrals/{referral}/act/", {"action": "accept"}, REFERRAL_UPDATED),
        Step(
            "schedule",
            "POST",
            f"/care/referrals/{referral}/act/",
            {"action": "schedule", "appointment_at": plan["appointment_at"]},
            REFERRAL_UPDATED,
        ),
    ]
