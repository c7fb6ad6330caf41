"""Items live in their owner's schema; publishing, correcting and withdrawing them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django_tenants.utils import schema_context

from portal.patients.models import EntryStatus, RegistryEntry
from portal.records.models import ClinicalItem, Document, ItemStatus
from portal.records.services import item_correct, item_create, item_publish, item_withdraw

CBC = {
    "effective_date": "2026-11-20",
    "test": "Platelets",
    "loinc": "777-3",
    "value": "98",
    "unit": "10^3/uL",
    "reference_low": "150",
    "reference_high": "400",
}


def _create(cast, org="maple", author="park", **extra):
    organization = cast.organizations[org]
    with schema_context(organization.schema_name):
        return item_create(
            user=cast.users[author],
            organization=organization,
            patient=cast.patients["maria"],
            kind="lab_result",
            values=dict(CBC),
            **extra,
        )


def test_a_draft_stays_in_its_owners_schema_and_is_not_shared(cast):
    item = _create(cast)
    assert item.status == ItemStatus.DRAFT
    assert not RegistryEntry.objects.filter(item_uuid=item.pk).exists()
    with schema_context(cast.organizations["northfield"].schema_name):
        assert not ClinicalItem.objects.filter(pk=item.pk).exists()


def test_publishing_writes_the_registry_entry_with_the_key_values(cast):
    item = _create(cast, publish=True)
    entry = RegistryEntry.objects.get(item_uuid=item.pk)
    assert entry.organization == cast.organizations["maple"]
    assert entry.kind == "lab_result" and entry.code == "777-3" and entry.title == "Platelets"
    assert entry.summary["value"] == "98" and entry.summary["unit"] == "10^3/uL"
    assert entry.summary["flag"] == "low"


def test_publishing_and_the_registry_entry_are_one_transaction(cast):
    item = _create(cast)
    maple = cast.organizations["maple"]
    RegistryEntry.objects.create(  # an entry already naming this item: the insert will fail
        patient=item.patient, organization=maple, kind="x", title="x", effective_at=item.effective_at, item_uuid=item.pk
    )
    with schema_context(maple.schema_name), pytest.raises(IntegrityError):
        item_publish(user=cast.users["park"], organization=maple, item=item)
    with schema_context(maple.schema_name):
        item.refresh_from_db()
    assert item.status == ItemStatus.DRAFT


def test_correcting_keeps_the_earlier_version_and_marks_the_entry_amended(cast):
    item = _create(cast, publish=True)
    maple = cast.organizations["maple"]
    with schema_context(maple.schema_name):
        correction = item_correct(
            user=cast.users["park"], organization=maple, item=item, values={**CBC, "value": "189"}
        )
        item.refresh_from_db()
        assert item.status == ItemStatus.SUPERSEDED
        assert correction.previous == item and correction.version == 2
    entry = RegistryEntry.objects.get(item_uuid=correction.pk)
    assert entry.status == EntryStatus.AMENDED and entry.version == 2 and entry.summary["value"] == "189"


def test_withdrawing_marks_the_entry_withdrawn_and_needs_a_reason(cast):
    item = _create(cast, publish=True)
    maple = cast.organizations["maple"]
    with schema_context(maple.schema_name):
        with pytest.raises(ValidationError):
            item_withdraw(user=cast.users["park"], organization=maple, item=item, reason=" ")
        item_withdraw(user=cast.users["park"], organization=maple, item=item, reason="Wrong patient")
    assert RegistryEntry.objects.get(item_uuid=item.pk).status == EntryStatus.WITHDRAWN


def test_bad_values_are_refused_with_field_errors_and_nothing_is_written(cast):
    maple = cast.organizations["maple"]
    with schema_context(maple.schema_name):
        before = ClinicalItem.objects.count()
        with pytest.raises(ValidationError) as error:
            item_create(
                user=cast.users["park"],
                organization=maple,
                patient=cast.patients["maria"],
                kind="lab_result",
                values={**CBC, "value": "lots", "reference_low": "500"},
            )
        assert "value" in error.value.message_dict
        assert ClinicalItem.objects.count() == before


def test_only_clinicians_who_care_for_the_patient_author(cast):
    with pytest.raises(PermissionDenied):
        _create(cast, org="maple", author="maple_admin")
    with pytest.raises(PermissionDenied):
        _create(cast, org="cedarvalley", author="chen")


def test_documents_are_checked_by_content_and_stored_under_the_organization(cast):
    maple = cast.organizations["maple"]
    values = {"effective_date": "2026-11-20", "description": "Outside CT report"}
    with schema_context(maple.schema_name):
        fake = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf")
        with pytest.raises(ValidationError, match="checked by their content"):
            item_create(
                user=cast.users["park"],
                organization=maple,
                patient=cast.patients["maria"],
                kind="document",
                values=values,
                files={"file": fake},
            )
        pdf = SimpleUploadedFile("report.pdf", b"%PDF-1.7\n%synthetic\n", content_type="application/pdf")
        item = item_create(
            user=cast.users["park"],
            organization=maple,
            patient=cast.patients["maria"],
            kind="document",
            values=values,
            files={"file": pdf},
        )
        document = Document.objects.get(item=item)
        assert document.content_type == "application/pdf"
        try:
            assert f"/{maple.schema_name}/documents/" in document.file.path
        finally:
            document.file.delete(save=False)


def test_a_suspended_organization_publishes_nothing_new(cast):
    from tenants.models import Organization

    item = _create(cast)
    maple = cast.organizations["maple"]
    Organization.objects.filter(pk=maple.pk).update(status="suspended")
    maple.refresh_from_db()
    with schema_context(maple.schema_name), pytest.raises(PermissionDenied):
        item_publish(user=cast.users["park"], organization=maple, item=item)
    assert not RegistryEntry.objects.filter(item_uuid=item.pk).exists()
