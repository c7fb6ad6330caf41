"""Background work of notifications. Tasks take ids, are idempotent and safe to retry."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from portal.notifications import services


def _retry_later(delivery_id: int, outcome: str, retry_in: int | None) -> str:
    if outcome == "retry" and retry_in:
        services.deliveries_enqueue(delivery_ids=[delivery_id], countdown=retry_in)
    return outcome


@shared_task(acks_late=True)
def delivery_send(delivery_id: int) -> str:
    outcome, retry_in = services.delivery_attempt(delivery_id=delivery_id)
    return _retry_later(delivery_id, outcome, retry_in)


@shared_task(acks_late=True)
def deliveries_send(delivery_ids: list[int]) -> dict[str, int]:
    """The re-send's batch: over one connection to the mail server, each delivery claimed,
    sent and marked on its own, as ``delivery_send`` does (a delivery another task holds or
    has sent is skipped). Returns the outcomes."""
    outcomes: dict[str, int] = {}
    for delivery_id, outcome, retry_in in services.deliveries_attempt(delivery_ids=delivery_ids):
        _retry_later(delivery_id, outcome, retry_in)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task
def deliveries_resend_pending(
    older_than_seconds: int = 60, handed_over_before: str | None = None, spread: int = 1
) -> int:
    """Periodic: deliveries left pending (broker or worker down, a lost task) go out again.
    When a worker (re)connects: ``handed_over_before`` (ISO 8601), the moment it connected,
    and ``spread``, its threads."""
    return services.deliveries_resend_pending(
        older_than_seconds=older_than_seconds,
        handed_over_before=dt.datetime.fromisoformat(handed_over_before) if handed_over_before else None,
        spread=spread,
    )


@shared_task
def digests_send() -> int:
    """Periodic: the daily digest, one email per person."""
    total = 0
    for user_id in services.digest_user_ids_due():
        # A digest a dead worker left "sending" goes out again alone (same Message-ID);
        # what else is due follows in a second email.
        for _ in range(2):
            covered = services.digest_send(user_id=user_id)
            total += covered
            if not covered:
                break
    return total
