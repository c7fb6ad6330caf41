from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.accounts.demo import demo_totp_code
from portal.accounts.models import User


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo user (demo secret only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email=options["email"].strip().lower()).first()
        if user is None:
            raise CommandError("No such user.")
        from django_otp.plugins.otp_totp.models import TOTPDevice

        if not TOTPDevice.objects.filter(user=user, name="Demo authenticator").exists():
            raise CommandError("This user has no demo authenticator (only the seeded demo cast has one).")
        self.stdout.write(demo_totp_code(user=user))
