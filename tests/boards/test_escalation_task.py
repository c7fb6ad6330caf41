"""The periodic task that escalates unanswered tumor-board recommendations (it has its own
task beside care's, so that care's periodic work never reaches up into tumor boards)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from portal.boards.models import Case
from portal.boards.services import recommendation_finalise
from portal.boards.tasks import escalate_overdue_recommendations
from portal.care.models import Escalation
from tests.boards.helpers import breast_board, discussed, maria_case


def test_the_beat_schedule_runs_both_escalations_every_quarter_hour():
    by_task = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in ("portal.care.tasks.escalate_overdue", "portal.boards.tasks.escalate_overdue_recommendations"):
        assert by_task[task]["schedule"] == 15 * 60.0
        assert by_task[task]["options"]["headers"]["_schema_name"] == "public"
    assert escalate_overdue_recommendations.name == "portal.boards.tasks.escalate_overdue_recommendations"


def test_the_task_escalates_a_recommendation_not_acknowledged_in_a_week_once(cast):
    board = breast_board(cast)
    case = maria_case(cast, board)
    discussed(cast, case)
    recommendation_finalise(case=case, user=cast.users["navarro"], organization=cast.organizations["northfield"])
    assert escalate_overdue_recommendations() == 0  # just finalised: nothing is overdue
    case.refresh_from_db()
    assert case.finalised_at is not None
    Case.objects.filter(pk=case.pk).update(finalised_at=case.finalised_at - dt.timedelta(days=8))
    assert escalate_overdue_recommendations() == 1
    assert escalate_overdue_recommendations() == 0
    assert Escalation.objects.filter(object_type="board_ack", object_id=case.pk, level=1).exists()
