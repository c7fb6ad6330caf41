"""Background work of notifications. Tasks take ids, are idempotent and safe to retry."""

from __future__ import annotations

from celery import shared_task

from portal.notifications import services


def _deliver(delivery_id: int) -> str:
    outcome, retry_in = services.delivery_attempt(delivery_id=delivery_id)
    if outcome == "retry" and retry_in:
        services.deliveries_enqueue(delivery_ids=[delivery_id], countdown=retry_in)
    return outcome


@shared_task(acks_late=True)
def delivery_send(delivery_id: int) -> str:
    return _deliver(delivery_id)


@shared_task(acks_late=True)
def deliveries_send(delivery_ids: list[int]) -> dict[str, int]:
    """The re-send's batch: each delivery in turn, exactly as ``delivery_send`` (claimed
    alone, so a delivery another task holds or has sent is skipped). Returns the outcomes."""
    outcomes: dict[str, int] = {}
    for delivery_id in delivery_ids:
        outcome = _deliver(delivery_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task
def deliveries_resend_pending(older_than_seconds: int = 60) -> int:
    """Periodic: deliveries left pending (broker or worker down, a lost task) go out again."""
    return services.deliveries_resend_pending(older_than_seconds=older_than_seconds)


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
