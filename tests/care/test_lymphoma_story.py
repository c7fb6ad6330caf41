"""Seed 001, end to end: after a chemotherapy cycle Northfield asks Maple for weekly labs;
Maple's result reaches the shared record and Northfield hears of it; a missed draw escalates
through the periodic task, run by a real Celery worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portal.care.models import CareTask, Escalation, TaskOccurrence
from portal.care.services import care_task_create, escalations_run, occurrence_link_result
from portal.care.tasks import escalate_overdue
from portal.celery import send_in_schema
from portal.notifications.models import Notification
from portal.patients.models import RegistryEntry
from tests.care.helpers import entry
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


def test_lymphoma_story_result_returns_and_a_missed_draw_escalates_once(celery_worker, committed):
    cast = committed
    maria = cast.patients["maria"]
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    okafor, park, navarro = cast.users["okafor"], cast.users["park"], cast.users["navarro"]
    started = timezone.now()
    task = None
    entries: list[RegistryEntry] = []
    try:
        # Dr. Okafor orders a weekly CBC drawn at Maple, the first draw eleven days ago.
        task = care_task_create(
            user=okafor,
            organization=northfield,
            patient=maria,
            owner_organization=maple,
            owner_user=park,
            title="CBC with differential",
            code="58410-2",
            recurrence="FREQ=DAILY;INTERVAL=7;COUNT=3",
            starts_at=timezone.now() - dt.timedelta(days=11),
        )
        first, missed, upcoming = list(task.occurrences.order_by("due_at"))
        assert Notification.objects.filter(recipient=park, link=f"/care/tasks/{task.uuid}/").exists()

        # Maple posts the first result on the shared record and links it; Northfield is notified.
        result = entry(maria, maple, title="CBC with differential", days_ago=10.5)
        entries.append(result)
        occurrence_link_result(occurrence=first, entry=result, user=park, organization=maple)
        assert Notification.objects.filter(
            recipient=okafor, kind="care_task", link=f"/care/tasks/{task.uuid}/", created_at__gte=started
        ).exists()

        # The periodic task, in a real worker, escalates the missed draw: Dr. Park, then the navigator.
        send_in_schema(escalate_overdue, "public")
        wait_for(lambda: Escalation.objects.filter(object_type="occurrence", object_id=missed.pk).count() == 2)
        alerts = Notification.objects.filter(kind="escalation", link=f"/care/tasks/{task.uuid}/")
        assert sorted(alerts.values_list("recipient__email", flat=True)) == sorted([park.email, navarro.email])
        assert not Escalation.objects.filter(object_type="occurrence", object_id__in=[first.pk, upcoming.pk]).exists()
        assert all("Alvarez" not in title for title in alerts.values_list("title", flat=True))

        # Running again notifies nobody twice.
        escalations_run()
        assert alerts.count() == 2
    finally:
        if task is not None:
            occurrence_ids = list(TaskOccurrence.objects.filter(task=task).values_list("pk", flat=True))
            Escalation.objects.filter(object_type="occurrence", object_id__in=occurrence_ids).delete()
            Notification.objects.filter(link=f"/care/tasks/{task.uuid}/").delete()
            CareTask.objects.filter(pk=task.pk).delete()
        RegistryEntry.objects.filter(pk__in=[e.pk for e in entries]).delete()
