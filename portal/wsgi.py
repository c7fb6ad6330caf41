import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
application = get_wsgi_application()


def _import_every_view() -> None:
    """Import the URLconfs, and with them every view module, while the process boots.

    Django imports them on the first request a process serves. Under gunicorn's sync
    workers that request waits for it (about 0.8 s of CPU; 2 s, and 17 s on this 2-core
    machine while it was saturated, measured by the load benchmark), and the worker serves
    nothing else meanwhile — at every start or restart of every worker, when a deploy meets
    the clinic's sign-in rush. Gunicorn sends a worker requests only once this module is
    loaded."""
    from django.conf import settings
    from django.urls import get_resolver

    for urlconf in {settings.ROOT_URLCONF, getattr(settings, "PUBLIC_SCHEMA_URLCONF", settings.ROOT_URLCONF)}:
        get_resolver(urlconf).url_patterns  # noqa: B018 - resolving them imports them


_import_every_view()
