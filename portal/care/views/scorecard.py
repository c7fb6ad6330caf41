"""The scorecard page and its CSV."""

from __future__ import annotations

import csv
import datetime as dt

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.accounts.typing import AuthenticatedRequest
from portal.audit.services import AuditAction, audit_record
from portal.care import forms
from portal.care.scorecard import scorecard, scorecard_csv_rows
from portal.care.views.common import _org, member


def scorecard_default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The past twelve months: from the first of the month eleven months back to today."""
    month = today.replace(day=1)
    for _ in range(11):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month, today


@member
def scorecard_view(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    form = forms.ScorecardFilter(request.GET or None)
    start, end = scorecard_default_range(timezone.localdate())
    scope = "organization"
    wants_csv = request.GET.get("format") == "csv"
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        scope = form.cleaned_data.get("scope") or scope
        if start > end:  # one end given, past the default other end
            form.add_error("end" if form.cleaned_data.get("end") else "start", "The end date is before the start date.")
    if form.errors:
        # A reversed or unreadable range is an error on the form (and of the export), never swapped.
        if wants_csv:
            reasons = "; ".join(str(m) for ms in form.errors.values() for m in ms)
            return HttpResponse(reasons, status=400, content_type="text/plain; charset=utf-8")
        context = {"card": None, "form": form, "scope": request.GET.get("scope") or scope, "tab": "scorecard"}
        return render(request, "care/scorecard.html", context, status=400)
    card = scorecard(organization=None if scope == "network" else org, start=start, end=end)
    if wants_csv:
        audit_record(
            action=AuditAction.EXPORT,
            request=request,
            object_type="scorecard",
            detail={"start": str(start), "end": str(end), "scope": scope},
        )
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="scorecard-{start}-{end}.csv"'
        writer = csv.writer(response)
        writer.writerows(scorecard_csv_rows(card))
        return response
    query = f"start={start}&end={end}&scope={scope}"
    return render(
        request,
        "care/scorecard.html",
        {"card": card, "form": form, "start": start, "end": end, "scope": scope, "query": query, "tab": "scorecard"},
    )
