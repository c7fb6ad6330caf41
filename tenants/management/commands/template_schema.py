from typing import Any

from django.core.management.base import BaseCommand

from tenants.provisioning import template_schema_ensure, template_schema_name


class Command(BaseCommand):
    help = "Create or migrate the template schema new organizations are cloned from (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        action = template_schema_ensure(verbosity=options["verbosity"] - 1 if options["verbosity"] > 1 else 0)
        self.stdout.write(f"Template schema {template_schema_name()}: {action}.")
