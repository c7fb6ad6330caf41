"""Re-attestation and inactivity jobs: run twice, they act once."""

from datetime import timedelta

from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.accounts.services import attestation_sweep, inactivity_sweep
from portal.audit.models import AuditEvent
from portal.notifications.models import Notification


def test_attestation_warns_before_and_suspends_after_180_days_once(cast):
    now = timezone.now()
    maple = cast.organizations["maple"]
    park = Membership.objects.get(user=cast.users["park"], organization=maple)
    Membership.objects.filter(organization=maple).update(last_attested_at=now)
    Membership.objects.filter(pk=park.pk).update(last_attested_at=now - timedelta(days=175))
    notes_before = Notification.objects.filter(organization=maple).count()

    first = attestation_sweep(now=now)
    second = attestation_sweep(now=now)
    assert first["warned"] == 1 and second["warned"] == 0
    assert first["suspended"] == 0
    park.refresh_from_db()
    assert park.status == "active" and park.attestation_warned_at is not None
    told = Notification.objects.filter(organization=maple).order_by("pk")[notes_before:]
    recipients = [note.recipient for note in told]
    # Each of Maple's two site admins (Dana Moss and Joel Pruitt) is told once.
    assert sorted(user.email for user in recipients) == ["dana.moss@maple.example", "joel.pruitt@maple.example"]

    later = now + timedelta(days=6)
    third = attestation_sweep(now=later)
    fourth = attestation_sweep(now=later)
    assert third["suspended"] == 1 and fourth["suspended"] == 0
    park.refresh_from_db()
    assert park.status == "suspended"
    assert AuditEvent.objects.filter(object_id=str(park.pk), detail__step="suspended_unattested").count() == 1
    # Others, attested now, are untouched.
    assert Membership.objects.filter(organization=maple, status="active").exclude(pk=park.pk).exists()


def test_re_attesting_a_suspended_account_restores_it(cast, sign_in):
    maple = cast.organizations["maple"]
    park = Membership.objects.get(user=cast.users["park"], organization=maple)
    Membership.objects.filter(pk=park.pk).update(status="suspended")
    sign_in(cast.users["maple_admin"], maple).post(f"/admin/users/{park.pk}/attest/")
    park.refresh_from_db()
    assert park.status == "active" and park.last_attested_at > timezone.now() - timedelta(minutes=1)


def test_accounts_unused_for_90_days_are_disabled_once(cast):
    now = timezone.now()
    User.objects.update(last_seen_at=now)
    chen = cast.users["chen"]
    User.objects.filter(pk=chen.pk).update(last_seen_at=now - timedelta(days=91))
    never = User.objects.create_user("never@maple.example", "x-long-password-123", full_name="Never Seen")
    User.objects.filter(pk=never.pk).update(date_joined=now - timedelta(days=100))

    first = inactivity_sweep(now=now)
    second = inactivity_sweep(now=now)
    assert first == {"disabled": 2} and second == {"disabled": 0}
    chen.refresh_from_db()
    assert not chen.is_active
    assert User.objects.filter(is_active=False).count() == 2
    assert User.objects.get(pk=cast.users["park"].pk).is_active
    assert AuditEvent.objects.filter(detail__step="disabled_inactive").count() == 2


def test_sweeps_are_registered_with_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"portal.accounts.tasks.attestation_sweep", "portal.accounts.tasks.inactivity_sweep"} <= tasks
    from portal.celery import app

    app.loader.import_default_modules()
    assert "portal.accounts.tasks.attestation_sweep" in app.tasks
