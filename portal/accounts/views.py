from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache

from portal.accounts.forms import PasswordResetForm, SignInForm
from portal.accounts.middleware import SESSION_SCHEMA_KEY
from portal.accounts.selectors import home_summary_for
from portal.accounts.services import seen_now
from portal.audit.services import AuditAction, AuditOutcome, audit_record


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        self.request.session[SESSION_SCHEMA_KEY] = self.request.tenant.schema_name  # type: ignore[attr-defined]
        seen_now(user=form.get_user())
        audit_record(action=AuditAction.SIGN_IN, request=self.request, actor=form.get_user())
        return response

    def form_invalid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
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


@never_cache
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """An organization's home page, for the signed-in member's role."""
    summary = home_summary_for(user=request.user, membership=request.membership)  # type: ignore[attr-defined,arg-type]
    return render(request, "accounts/home.html", {"summary": summary})


@never_cache
def network_home(request: HttpRequest) -> HttpResponse:
    """The network's own address: a landing page, or the network admin's console."""
    if not request.user.is_authenticated:
        return render(request, "accounts/network_landing.html")
    return redirect("console:organizations")
