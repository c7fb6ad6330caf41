"""A Celery task sent after commit is executed by a real worker, in the schema it names."""

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from portal.celery import send_in_schema
from portal.records.models import OrganizationSetting
from portal.records.tasks import setting_touch
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


def test_task_sent_on_commit_runs_in_a_real_worker_in_the_right_schema(committed, celery_worker):
    cast = committed
    maple, northfield = cast.organizations["maple"], cast.organizations["northfield"]
    key = "worker-check"
    try:
        with transaction.atomic():
            transaction.on_commit(lambda: send_in_schema(setting_touch, maple.schema_name, key=key))

        def in_maple():
            with schema_context(maple.schema_name):
                return OrganizationSetting.objects.filter(key=key).first()

        setting = wait_for(in_maple)
        assert setting.value["worker_schema"] == maple.schema_name
        with schema_context(northfield.schema_name):
            assert not OrganizationSetting.objects.filter(key=key).exists()
    finally:
        with schema_context(maple.schema_name):
            OrganizationSetting.objects.filter(key=key).delete()


def test_a_task_is_not_sent_when_the_transaction_rolls_back(committed, celery_worker):
    cast = committed
    maple = cast.organizations["maple"]
    key = "never-sent"

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        transaction.on_commit(lambda: send_in_schema(setting_touch, maple.schema_name, key=key))
        raise Abort
    # A task that *was* sent after it proves the worker is draining the queue in order.
    with transaction.atomic():
        transaction.on_commit(lambda: send_in_schema(setting_touch, maple.schema_name, key="sent-after"))
    try:

        def done():
            with schema_context(maple.schema_name):
                return OrganizationSetting.objects.filter(key="sent-after").exists()

        wait_for(done)
        with schema_context(maple.schema_name):
            assert not OrganizationSetting.objects.filter(key=key).exists()
    finally:
        with schema_context(maple.schema_name):
            OrganizationSetting.objects.filter(key__in=[key, "sent-after"]).delete()
