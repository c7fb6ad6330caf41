from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.db import connection

from portal.accounts.models import User
from portal.accounts.selectors import may_sign_in_at


class SignInForm(AuthenticationForm):
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


class PasswordResetForm(DjangoPasswordResetForm):
    """Sends a reset link only to people who may sign in at this address."""

    def get_users(self, email: str) -> Iterator[User]:
        organization = getattr(connection, "tenant", None)
        for user in super().get_users(email):
            allowed, _ = may_sign_in_at(user=user, organization=organization)  # type: ignore[arg-type]
            if allowed:
                yield user  # type: ignore[misc]
