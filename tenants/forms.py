from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from portal import uploads
from portal.accounts.roles import Role
from portal.forms import Form
from tenants.models import AgreementKind, OrganizationKind
from tenants.validators import validate_npi, validate_slug_available

if TYPE_CHECKING:
    import datetime as dt

    from django.core.files.uploadedfile import UploadedFile

PARTNER_KINDS = [(value, label) for value, label in OrganizationKind.choices if value != OrganizationKind.NETWORK]


class OrganizationCreateForm(Form):
    name = forms.CharField(label="Organization name", max_length=200)
    kind = forms.ChoiceField(
        label="Kind",
        choices=[("", "Choose…"), *PARTNER_KINDS],
        error_messages={"required": "Choose the kind of organization."},
    )
    slug = forms.SlugField(
        label="Address",
        max_length=40,
        help_text="Lowercase letters, digits and hyphens; the organization answers at <address>.<network domain>.",
    )
    city = forms.CharField(label="City", max_length=100, required=False)
    npi = forms.CharField(label="Organization NPI", max_length=10, required=False, help_text="10 digits (type 2 NPI).")

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug.startswith("-") or slug.endswith("-") or "_" in slug:
            raise forms.ValidationError("Use lowercase letters, digits and inner hyphens only.")
        validate_slug_available(slug)
        return slug

    def clean_npi(self) -> str:
        npi = self.cleaned_data["npi"].strip().replace(" ", "")
        validate_npi(npi)
        return npi


class AgreementForm(Form):
    kind = forms.ChoiceField(label="Agreement", choices=AgreementKind.choices)
    document = forms.FileField(label="Signed document (PDF)")
    signer_name = forms.CharField(label="Signed by", max_length=200)
    signer_title = forms.CharField(label="Signer's title", max_length=200, required=False)
    signed_on = forms.DateField(label="Signed on", widget=forms.DateInput(attrs={"type": "date"}))

    MAX_BYTES = 10 * 1024 * 1024

    def clean_document(self) -> UploadedFile:
        document = self.cleaned_data["document"]
        uploads.upload_check(document, kinds=(uploads.PDF, uploads.PNG, uploads.JPEG), max_bytes=self.MAX_BYTES)
        return document

    def clean_signed_on(self) -> dt.date:
        signed_on = self.cleaned_data["signed_on"]
        if signed_on > timezone.localdate():
            raise forms.ValidationError("The signing date cannot be in the future.")
        return signed_on


class SiteAdminInviteForm(Form):
    email = forms.EmailField(label="Site admin's email")
    full_name = forms.CharField(label="Full name", max_length=200, required=False)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.ORG_ADMIN)


class ConfirmForm(Form):
    """Type the organization's address to confirm a step that cannot be undone lightly."""

    confirm = forms.CharField(label="Type the organization's address to confirm")

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip().lower()
        if value != self.expected:
            raise forms.ValidationError(f"Type “{self.expected}” exactly to confirm.")
        return value
