from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "portal_api"

    def ready(self) -> None:
        # The schema extensions register themselves when imported.
        from portal.api import schema  # noqa: F401
