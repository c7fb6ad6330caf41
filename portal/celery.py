"""The Celery app. Tasks that touch an organization's schema get its name explicitly."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import bootsteps
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.state import maybe_shutdown
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = CeleryApp("continuum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("portal.celery")

# Seconds between two attempts of the worker to reach the broker again. Celery's own
# back-off grows by 2 s an attempt up to 30 s (kombu's ``Connection.ensure_connection``
# defaults, which no setting changes for the worker), so a worker noticed Redis again up
# to 10 s after a 20-second outage and 30 s after a long one. Trying a Unix or TCP socket
# once a second costs nothing.
BROKER_RECONNECT_SECONDS = 1.0
# While the broker stays away, one log line for the first failed attempt and then one
# every this many attempts (rather than one a second).
BROKER_RECONNECT_LOG_EVERY = 30


class Consumer(CeleryConsumer):
    """The worker's consumer (``worker_consumer``): (re)connects to the broker every
    ``BROKER_RECONNECT_SECONDS``, so email held back by a Redis outage goes out within
    a second or two of Redis answering again; otherwise Celery's own consumer."""

    def ensure_connected(self, conn: Any) -> Any:
        conf = self.app.conf
        retry = conf.broker_connection_retry
        if self.first_connection_attempt and conf.broker_connection_retry_on_startup is not None:
            retry = conf.broker_connection_retry_on_startup
        if retry:
            attempts = 0

            def failed(error: Exception, interval: float) -> None:
                nonlocal attempts
                attempts += 1
                if attempts == 1 or attempts % BROKER_RECONNECT_LOG_EVERY == 0:
                    logger.warning(
                        "consumer: cannot reach the broker (%s); trying again every %g s (attempt %s)",
                        error,
                        interval,
                        attempts,
                    )

            conn.ensure_connection(
                failed,
                conf.broker_connection_max_retries,
                interval_start=BROKER_RECONNECT_SECONDS,
                interval_step=0,
                interval_max=BROKER_RECONNECT_SECONDS,
                callback=maybe_shutdown,
            )
        # Connected now (or retrying is off): Celery's own bookkeeping, and its behaviour
        # when retrying is disabled.
        return super().ensure_connected(conn)


class ResendPendingOnConnect(bootsteps.StartStopStep):
    """A consumer step: it starts each time the worker has (re)connected to the broker,
    and hands over at once every delivery left pending while the broker or the worker was
    away, rather than at beat's next periodic re-send (beat reconnects on its own, with
    Celery's back-off). It includes those handed over before this connection (their tasks
    may have gone with the broker or a worker), not those handed over since: beat's
    re-send, running right after, skips what this one handed over, and this one what beat's
    handed over. Delivery is idempotent: a delivery handed over twice is sent once."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        from django.conf import settings
        from django.utils import timezone

        from portal.notifications.tasks import deliveries_resend_pending

        connected_at = timezone.now().isoformat()
        try:
            deliveries_resend_pending.apply_async(
                kwargs={
                    "older_than_seconds": 0,
                    "handed_over_before": connected_at,
                    # the backlog in a task per thread, so every thread sends at once
                    "spread": getattr(parent.controller, "concurrency", None) or 1,
                },
                headers={"_schema_name": "public"},
            )
        except Exception:  # the broker went away again: the next connection or beat catches up  # noqa: BLE001
            logger.warning(
                "could not queue the re-send of pending deliveries; the periodic one runs every %s s",
                settings.NOTIFICATIONS_RESEND_SECONDS,
            )


app.steps["consumer"].add(ResendPendingOnConnect)


def send_in_schema(task: Any, schema_name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Send ``task`` to run in ``schema_name``; the schema never comes from the sender's
    connection. Call it from ``transaction.on_commit`` in services."""
    return task.apply_async(args=args, kwargs=kwargs, headers={"_schema_name": schema_name})
