"""The demo cast's accounts: terms accepted and a TOTP device with the documented demo secret.

The secret is ``settings.DEMO_TOTP_KEY`` (RFC 6238's test key); ``manage.py demo_otp
<email>`` prints the current code. Synthetic people only: never use it for real accounts.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from portal.accounts.models import User
from portal.accounts.services import demo_totp_device_ensure


def demo_user_ready(*, user: User) -> None:
    """Idempotent: terms accepted once, one demo device."""
    if user.terms_accepted_version != settings.TERMS_VERSION:
        user.terms_accepted_version = settings.TERMS_VERSION
        user.terms_accepted_at = timezone.now()
        user.save(update_fields=["terms_accepted_version", "terms_accepted_at"])
    demo_totp_device_ensure(user=user)


def demo_totp_code(*, user: User | None = None, steps_ahead: int = 0) -> str:
    """The current 6-digit code of the demo secret (every demo device shares it; no query).

    ``steps_ahead=1`` gives the next 30-second code, which the device also accepts (its
    tolerance is one step): useful when the current code was just used, since a code is
    never accepted twice.
    """
    from binascii import unhexlify

    from django_otp.oath import TOTP

    totp = TOTP(unhexlify(settings.DEMO_TOTP_KEY), step=30, t0=0, digits=6, drift=steps_ahead)
    return f"{totp.token():06d}"
