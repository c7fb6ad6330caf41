"""The token endpoint and SMART configuration at ``/fhir/R4/``, and the site admins' page of
API clients at ``/admin/api-clients/``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.accounts.admin_views import site_admin_required
from portal.accounts.typing import AuthenticatedRequest
from portal.fhir.clients.forms import ApiClientForm
from portal.fhir.clients.selectors import api_client_for_admin, api_clients_for_admin
from portal.fhir.clients.services import (
    ALGORITHMS,
    TOKEN_SECONDS,
    TokenError,
    access_token_issue,
    api_client_register,
    api_client_revoke,
)
from portal.fhir.errors import OAUTH_ANSWER

TOKEN_PATH = "/fhir/R4/auth/token"
FHIR_BASE = "/fhir/R4/"


def token_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(TOKEN_PATH)


def _oauth_json(body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    setattr(response, OAUTH_ANSWER, True)
    response["Pragma"] = "no-cache"
    return response


def _organization_or_none(request: HttpRequest) -> Any:
    organization = getattr(request, "tenant", None)
    if organization is None or organization.is_network:
        return None
    return organization


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """SMART Backend Services' token endpoint (client credentials, ``private_key_jwt``)."""
    organization = _organization_or_none(request)
    if organization is None:
        raise Http404("No token endpoint here.")
    if request.method != "POST":
        response = _oauth_json({"error": "invalid_request", "error_description": "POST the token request."}, 405)
        response["Allow"] = "POST"
        return response
    if request.content_type != "application/x-www-form-urlencoded":
        return _oauth_json(
            {"error": "invalid_request", "error_description": "Send the form as application/x-www-form-urlencoded."},
            400,
        )
    try:
        body = access_token_issue(
            organization=organization, token_url=token_url(request), data=request.POST.dict(), request=request
        )
    except TokenError as error:
        response = _oauth_json({"error": error.error, "error_description": error.description}, error.status)
        if error.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="fhir", error="invalid_client"'
        return response
    return _oauth_json(body)


def smart_configuration(request: HttpRequest) -> HttpResponse:
    """``.well-known/smart-configuration``: where and how a backend service gets a token."""
    if _organization_or_none(request) is None:
        raise Http404("No FHIR endpoint here.")
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET"
        return response
    return JsonResponse(
        {
            "issuer": request.build_absolute_uri(FHIR_BASE),
            "token_endpoint": token_url(request),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": [
                "system/*.read",
                "system/*.rs",
                "system/Patient.rs",
                "system/Observation.rs",
                "system/*.write",
                "system/Observation.cu",
            ],
            "response_types_supported": ["token"],
            "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
            "access_token_lifetime_seconds": TOKEN_SECONDS,
        }
    )


# --- site admins: API clients ------------------------------------------------------------


@site_admin_required
def clients(request: AuthenticatedRequest) -> HttpResponse:
    organization = request.tenant
    return render(
        request,
        "fhir/clients/list.html",
        {
            "clients": list(api_clients_for_admin(organization=organization)),
            "token_url": token_url(request),
            "fhir_base": request.build_absolute_uri(FHIR_BASE),
        },
    )


@site_admin_required
def register(request: AuthenticatedRequest) -> HttpResponse:
    organization = request.tenant
    form = ApiClientForm(request.POST or None, organization=organization)
    registered = None
    if request.method == "POST" and form.is_valid():
        try:
            registered = api_client_register(
                organization=organization,
                name=form.cleaned_data["name"],
                jwks_text=form.cleaned_data["jwks"],
                jwks_uri=form.cleaned_data["jwks_uri"],
                import_as=form.cleaned_data["import_as"],
                scopes_text=form.cleaned_data["scopes"],
                actor=request.user,
                request=request,
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            if not request.htmx:
                messages.success(request, f"{registered.name} is registered. Its client id: {registered.client_id}")
                return redirect("api_clients:list")
            form = ApiClientForm(organization=organization)
    context = {
        "form": form,
        "registered": registered,
        "token_url": token_url(request),
        "fhir_base": request.build_absolute_uri(FHIR_BASE),
    }
    status = 400 if request.method == "POST" and form.errors else 200
    if request.htmx:
        return render(request, "fhir/clients/partials/register_panel.html", context, status=status)
    return render(request, "fhir/clients/register.html", context, status=status)


@site_admin_required
@require_POST
def revoke(request: AuthenticatedRequest, uuid: str) -> HttpResponse:
    client = api_client_for_admin(organization=request.tenant, uuid=uuid)
    if client is None:
        raise Http404("No such client.")
    api_client_revoke(client=client, actor=request.user, request=request)
    messages.success(request, f"{client.name} is revoked: its tokens no longer work.")
    return redirect(reverse("api_clients:list"))
