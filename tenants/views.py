from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.addresses import absolute_url


def no_such_organization(request: HttpRequest) -> HttpResponse:
    """An address that belongs to no organization of the network."""
    return render(
        request,
        "tenants/no_such_organization.html",
        {"host": request.get_host().split(":")[0], "network_url": absolute_url(settings.BASE_DOMAIN)},
        status=404,
    )
