from django.http import HttpRequest, HttpResponse
from django.urls import path

from tenants.models import Organization


def plain(request: HttpRequest) -> HttpResponse:
    names = list(Organization.objects.values_list("name", flat=True)[:5])
    return HttpResponse("<ul>" + "".join(f"<li>{name}</li>" for name in names) + "</ul>")


urlpatterns = [path("plain", plain)]
