"""Demo data of the network console: the demo partners' signed agreements.

Idempotent: an agreement already recorded is left as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile

from tenants.models import Agreement, AgreementKind

if TYPE_CHECKING:
    from portal.demo.cast import Cast


def _placeholder_pdf(title: str) -> bytes:
    text = f"Synthetic demo document: {title}"
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
        + f"% {text}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def seed(cast: Cast) -> None:
    signers = {
        "northfield": ("Harriet Cole", "Chief Medical Officer"),
        "lakeside": ("Martin Greer", "Practice Administrator"),
        "stbrendans": ("Sister Anne Doyle", "President"),
        "maple": ("Dana Moss", "Office manager"),
        "cedarvalley": ("Ivan Holt", "Clinic manager"),
    }
    recorded_by = cast.users.get("network_admin")
    for slug, organization in cast.organizations.items():
        signer, title = signers.get(slug, ("Demo Signer", ""))
        for kind in AgreementKind:
            if Agreement.objects.filter(organization=organization, kind=kind).exists():
                continue
            agreement = Agreement(
                organization=organization,
                kind=kind,
                signer_name=signer,
                signer_title=title,
                signed_on=dt.date(2026, 1, 15),
                recorded_by=recorded_by,
            )
            agreement.document.save(
                f"{kind.value}.pdf", ContentFile(_placeholder_pdf(f"{kind.label}, {organization.name}")), save=False
            )
            agreement.save()
