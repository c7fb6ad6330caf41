from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.demo.cast import DEMO_PASSWORD, NETWORK_ADMIN, PEOPLE
from portal.demo.seed import seed_all
from tenants.addresses import absolute_url, organization_host


class Command(BaseCommand):
    help = "Seed the demo network (idempotent: running it twice changes nothing)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if organizations exist.")
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args: Any, **options: Any) -> None:
        from tenants.models import Organization

        if options["if_empty"] and Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).exists():
            self.stdout.write("Demo network already present.")
        else:
            seed_all()
            self.stdout.write(self.style.SUCCESS("Demo network seeded."))
        if not options["quiet_logins"]:
            self.print_logins()

    def print_logins(self) -> None:
        out = self.stdout.write
        out("")
        out(f"Demo logins (password for everyone: {DEMO_PASSWORD})")
        out("  Second factor: `.venv/bin/python manage.py demo_otp <email>` prints the current 6-digit code")
        out(f"  Network console  {absolute_url(settings.BASE_DOMAIN, '/')}  {NETWORK_ADMIN[1]}")
        for _key, email, full_name, _cred, slug, role, _admin, _title in PEOPLE:
            out(f"  {absolute_url(organization_host(slug), '/'):42} {email:40} {full_name} ({role.label})")
