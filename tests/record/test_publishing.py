"""Items live in their owner's schema; publishing, correcting and withdrawing them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django_tenants.utils import schema_context

from portal.patients.models import EntryStatus, RegistryEntry
from portal.records.models import ClinicalItem, Document, ItemStatus
from portal.records.services import item_correct, item_create, item_publish, item_withdraw
from tests.files import pdf_bytes

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
        with pytest.raises(ValidationError, match="checked by its content"):
            item_create(
                user=cast.users["park"],
                organization=maple,
                patient=cast.patients["maria"],
                kind="document",
                values=values,
                files={"file": fake},
            )
        pdf = SimpleUploadedFile("report.pdf", pdf_bytes(), content_type="application/pdf")
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


def test_loinc_check_digit_follows_the_mod_10_rule_on_real_codes():
    from portal.records.kinds import loinc_check_digit, loinc_is_valid

    for code in ("718-7", "2160-0", "6690-2", "777-3", "751-8", "4548-4", "11555-0"):
        assert loinc_is_valid(code), code
    assert loinc_check_digit("718") == 7 and loinc_check_digit("2160") == 0 and loinc_check_digit("6690") == 2
    for code in ("718-8", "2160-1", "not-a-loinc", "7187", "718-", "-7", "12345678-9", "718-7 ", "LP7-1"):
        assert not loinc_is_valid(code), code


def _lab(cast, **values):
    maple = cast.organizations["maple"]
    with schema_context(maple.schema_name):
        return item_create(
            user=cast.users["park"],
            organization=maple,
            patient=cast.patients["maria"],
            kind="lab_result",
            values={**CBC, **values},
        )


def _nothing_written(cast, call):
    maple = cast.organizations["maple"]
    with schema_context(maple.schema_name):
        before = ClinicalItem.objects.count()
    entries = RegistryEntry.objects.count()
    with pytest.raises(ValidationError) as error:
        call()
    with schema_context(maple.schema_name):
        assert ClinicalItem.objects.count() == before
    assert RegistryEntry.objects.count() == entries
    return error.value.message_dict


def test_a_made_up_loinc_code_is_refused_and_nothing_is_written(cast):
    errors = _nothing_written(cast, lambda: _lab(cast, loinc="not-a-loinc"))
    assert errors["loinc"] == ["A LOINC code is 1 to 7 digits, a hyphen and a check digit, e.g. 718-7."]
    errors = _nothing_written(cast, lambda: _lab(cast, test="Hemoglobin", loinc="718-8", value="11.2", unit="g/dL"))
    assert "check digit is wrong" in errors["loinc"][0]


def test_a_negative_hemoglobin_is_refused_and_nothing_is_written(cast):
    errors = _nothing_written(
        cast,
        lambda: _lab(
            cast, test="Hemoglobin", loinc="718-7", value="-5", unit="g/dL", reference_low="12", reference_high="15.5"
        ),
    )
    assert errors["value"] == [
        "This test cannot be negative. Only base excess, T-scores and Z-scores may be below zero."
    ]
    errors = _nothing_written(cast, lambda: _lab(cast, reference_low="-1"))
    assert "reference_low" in errors


def test_base_excess_and_scores_may_be_negative(cast):
    by_code = _lab(
        cast, test="Base excess", loinc="11555-0", value="-4.5", unit="mmol/L", reference_low="-2", reference_high="2"
    )
    assert by_code.data["value"] == "-4.5" and by_code.code == "11555-0"
    by_name = _lab(
        cast, test="Base excess, arterial", loinc="", value="-3", unit="mEq/L", reference_low="", reference_high=""
    )
    assert by_name.data["value"] == "-3"
    t_score = _lab(
        cast, test="Femoral neck bone density", loinc="", value="-2.6", unit="SD", reference_low="-1", reference_high=""
    )
    assert t_score.data["value"] == "-2.6"


def test_the_lab_form_shows_the_errors_and_the_api_answers_400_writing_nothing(cast, sign_in):
    maria = cast.patients["maria"]
    maple = cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    with schema_context(maple.schema_name):
        before = ClinicalItem.objects.count()
    bad = {**CBC, "test": "Hemoglobin", "loinc": "not-a-loinc", "value": "-5", "unit": "g/dL"}
    page = park.post(f"/records/new/{maria.uuid}/lab_result/", bad)
    assert page.status_code == 400
    html = page.content.decode()
    assert "A LOINC code is 1 to 7 digits" in html and "This test cannot be negative" in html
    assert "Negative values are refused except where a test can be below zero" in html  # the rule, as help text

    api = park.post(
        f"/api/v1/patients/{maria.uuid}/items/", {"kind": "lab_result", "values": bad}, content_type="application/json"
    )
    assert api.status_code == 400 and {"loinc", "value"} <= set(api.json()["errors"])
    with schema_context(maple.schema_name):
        assert ClinicalItem.objects.count() == before
