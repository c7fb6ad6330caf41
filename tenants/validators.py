"""Identifiers of organizations: the NPI check digit, reserved addresses."""

from __future__ import annotations

from django.core.exceptions import ValidationError

# Slugs that would collide with the template schema or read as the network's own pages.
RESERVED_SLUGS = frozenset({"template", "network", "www", "admin", "api", "console", "public", "static", "media"})


def npi_is_valid(value: str) -> bool:
    """The NPI standard's check: Luhn over the prefix 80840 and the first nine digits."""
    if len(value) != 10 or not value.isdigit():
        return False
    digits = [int(d) for d in "80840" + value[:9]]
    total = 0
    # Double every second digit from the right of the payload (the check digit comes after it).
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(value[9])


def validate_npi(value: str) -> None:
    if value and not npi_is_valid(value):
        raise ValidationError(
            "This is not a valid NPI: it must be 10 digits with a correct check digit.", code="invalid_npi"
        )


def validate_slug_available(value: str) -> None:
    from tenants.addresses import organization_host, schema_name_for
    from tenants.models import Domain, Organization

    if value in RESERVED_SLUGS:
        raise ValidationError("This address is reserved. Choose another.", code="reserved")
    if (
        Organization.objects.filter(slug=value).exists()
        or Organization.objects.filter(schema_name=schema_name_for(value)).exists()
        or Domain.objects.filter(domain=organization_host(value)).exists()
    ):
        raise ValidationError("Another organization already uses this address.", code="taken")
