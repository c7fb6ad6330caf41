from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.audit.selectors import access_log, patient_for_report


@login_required
def log(request: HttpRequest) -> HttpResponse:
    emergency_only = request.GET.get("emergency") == "1"
    events = access_log(membership=getattr(request, "membership", None), emergency_only=emergency_only)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/log.html", {"page": page, "emergency_only": emergency_only})


@login_required
def patient_report(request: HttpRequest, patient_uuid: str) -> HttpResponse:
    membership = getattr(request, "membership", None)
    patient = patient_for_report(membership=membership, patient_uuid=patient_uuid)
    events = access_log(membership=membership, patient_uuid=patient_uuid)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "audit/patient_report.html", {"page": page, "patient": patient})
