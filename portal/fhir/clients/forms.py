from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from portal.accounts.models import Membership, User
from portal.accounts.roles import AUTHOR_ROLES
from portal.forms import Form
from tenants.models import Organization

if TYPE_CHECKING:
    _UserChoice = forms.ModelChoiceField[User]
else:
    _UserChoice = forms.ModelChoiceField


class ClinicianChoiceField(_UserChoice):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class ApiClientForm(Form):
    name = forms.CharField(
        label="Name",
        max_length=120,
        help_text="The partner's system, as your staff will recognize it in the access log.",
    )
    scopes = forms.CharField(
        label="Scopes",
        max_length=1000,
        initial="system/*.read",
        help_text="SMART system scopes separated by spaces, v1 or v2 syntax: system/*.read, system/Observation.rs, "
        "system/Observation.cu to import results. They narrow what this organization may see and write; they "
        "never add to it.",
    )
    jwks = forms.CharField(
        label="Public keys (JWKS)",
        max_length=32 * 1024,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "input-full"}),
        help_text='The client\'s JSON Web Key Set, {"keys": [...]}: RSA (RS384, 2048 bits or more) or EC P-384 '
        "(ES384) public keys. Never a private key.",
    )
    jwks_uri = forms.CharField(
        label="Or the URL of its key set",
        max_length=500,
        required=False,
        help_text="Where the partner publishes its key set (https://…/jwks.json), instead of pasting it: fetched "
        "now and again when the partner rotates its keys.",
    )
    import_as = ClinicianChoiceField(
        label="Imports on behalf of",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody (the client only reads)",
        help_text="A client with write scopes imports for a clinician of this organization: the items are "
        "theirs, drafts until published unless they may publish, and name the client as their source.",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        authors = Membership.objects.active().filter(organization=organization, role__in=AUTHOR_ROLES)
        field = self.fields["import_as"]
        assert isinstance(field, ClinicianChoiceField)
        field.queryset = User.objects.filter(pk__in=authors.values("user")).order_by("full_name", "pk")
