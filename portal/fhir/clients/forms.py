from __future__ import annotations

from django import forms

from portal.forms import Form


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
        help_text="SMART system scopes separated by spaces, v1 or v2 syntax: system/*.read, system/Observation.rs. "
        "They narrow what this organization may see; they never add to it.",
    )
    jwks = forms.CharField(
        label="Public keys (JWKS)",
        max_length=32 * 1024,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "input-full"}),
        help_text='The client\'s JSON Web Key Set, {"keys": [...]}: RSA (RS384, 2048 bits or more) or EC P-384 '
        "(ES384) public keys. Never a private key.",
    )
