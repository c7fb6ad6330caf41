from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.db import connection

from portal.accounts.models import User
from portal.accounts.selectors import may_sign_in_at
from portal.forms import CleanTextMixin, Form

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile


class SignInForm(CleanTextMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Check both and try again.",
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            refusal = getattr(self.request, "signin_refusal", None)
            if refusal:
                raise forms.ValidationError(refusal, code="not_a_member") from None
            raise


class PasswordResetForm(CleanTextMixin, DjangoPasswordResetForm):
    """Sends a reset link only to people who may sign in at this address."""

    def get_users(self, email: str) -> Iterator[User]:
        organization = getattr(connection, "tenant", None)
        for user in super().get_users(email):
            allowed, _ = may_sign_in_at(user=user, organization=organization)
            if allowed:
                yield user


class TermsForm(Form):
    accept = forms.BooleanField(label="I have read and accept the terms of use", required=True)


class TokenForm(Form):
    token = forms.CharField(
        label="6-digit code",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )


class InvitationAcceptForm(Form):
    full_name = forms.CharField(label="Full name", max_length=200, required=False)
    password = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(
        label="Password again", required=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    accept_terms = forms.BooleanField(label="I have read and accept the terms of use", required=False)

    def __init__(self, *args: Any, existing_account: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing_account = existing_account
        if existing_account:
            del self.fields["full_name"]
            del self.fields["password_again"]
            self.fields["password"].label = "Your current password"
            self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.existing_account and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        if not data.get("accept_terms"):
            self.add_error("accept_terms", "Accept the terms of use to continue.")
        return data


def _role_choices() -> list[tuple[str, str]]:
    from portal.accounts.roles import Role

    return list(Role.choices)


def _role_choices_blank() -> list[tuple[str, str]]:
    """No role preselected: whoever invites chooses one (a wrong default grants clinical access)."""
    return [("", "Choose…"), *_role_choices()]


class InviteForm(Form):
    email = forms.EmailField(label="Email")
    full_name = forms.CharField(label="Full name", max_length=200, required=False)
    role = forms.ChoiceField(
        label="Role", choices=_role_choices_blank, error_messages={"required": "Choose the person's role."}
    )
    is_site_admin = forms.BooleanField(label="Also a site admin (manages users)", required=False)


class RoleForm(Form):
    role = forms.ChoiceField(label="Role", choices=_role_choices)
    is_site_admin = forms.BooleanField(label="Site admin", required=False)


class BulkInviteForm(Form):
    file = forms.FileField(label="CSV file", help_text="Columns: email, full_name, role, site_admin (yes/no).")

    MAX_BYTES = 512 * 1024

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 512 KB; split it.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text. Save it as CSV (UTF-8).")
        from portal.accounts.services import csv_header_problems

        problems = csv_header_problems(text)
        if problems:
            raise forms.ValidationError(problems)
        self.cleaned_data["text"] = text
        return upload
