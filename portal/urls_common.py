"""Routes every address has: sign-in, sign-out, password reset. (/healthz and /readyz are
answered before routing: portal.availability.HealthMiddleware.)"""

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("portal.accounts.urls")),
]
