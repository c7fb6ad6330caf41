"""Routes every address has: sign-in, sign-out, password reset, health."""

from django.urls import include, path

from portal.accounts import views as account_views

urlpatterns = [
    path("accounts/", include("portal.accounts.urls")),
    path("healthz", account_views.healthz, name="healthz"),
]
