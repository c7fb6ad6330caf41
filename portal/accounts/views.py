from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import reverse_lazy

from portal.accounts.forms import PasswordResetForm, SignInForm
from portal.accounts.middleware import SESSION_SCHEMA_KEY
from portal.accounts.services import seen_now
from portal.audit.services import AuditAction, AuditOutcome, audit_record

if TYPE_CHECKING:
    from django.contrib.auth.forms import AuthenticationForm

    from portal.accounts.typing import TenantRequest


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    request: TenantRequest

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        self.request.session[SESSION_SCHEMA_KEY] = self.request.tenant.schema_name
        seen_now(user=form.get_user())
        audit_record(action=AuditAction.SIGN_IN, request=self.request, actor=form.get_user())
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        if form.has_error("__all__", "not_a_member"):
            audit_record(
                action=AuditAction.SIGN_IN_REFUSED,
                request=self.request,
                outcome=AuditOutcome.DENIED,
                detail={"email": form.cleaned_data.get("username", "")},
            )
        return super().form_invalid(form)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
