"""CSV bulk invitations, processed by a real Celery worker, with a per-row report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.accounts.models import BulkInvitation, Invitation
from tests.conftest import wait_for

pytestmark = pytest.mark.worker

CSV = """email,full_name,role,site_admin
amy.adams@maple.example,Amy Adams,nurse_navigator,no
not-an-email,Bad Email,staff,no
bo.brown@maple.example,Bo Brown,wizard,no
peter.park@maple.example,Peter Park,pcp,no
cy.cole@maple.example,Cy Cole,org_admin,yes
amy.adams@maple.example,Amy Again,staff,no
"""


def test_csv_invites_good_rows_only_and_reports_the_bad(committed, celery_worker, sign_in):
    cast = committed
    maple = cast.organizations["maple"]
    client = sign_in(cast.users["maple_admin"], maple)
    try:
        response = client.post("/admin/users/import/", {"file": SimpleUploadedFile("team.csv", CSV.encode())})
        assert response.status_code == 302
        bulk = BulkInvitation.objects.get(organization=maple)
        assert response["Location"] == f"/admin/users/import/{bulk.uuid}/"
        page = client.get(response["Location"]).content.decode()
        assert 'role="progressbar"' in page

        wait_for(lambda: BulkInvitation.objects.get(pk=bulk.pk).status == "done", timeout=30)
        bulk.refresh_from_db()
        assert bulk.total_rows == 6 and bulk.processed_rows == 6
        assert [row["ok"] for row in bulk.report] == [True, False, False, False, True, False]
        assert "email" in bulk.report[1]["errors"]
        assert "role" in bulk.report[2]["errors"]
        assert "already has an account here" in bulk.report[3]["errors"]["email"][0]
        assert "appears twice" in bulk.report[5]["errors"]["email"][0]
        invited = set(Invitation.objects.filter(organization=maple).values_list("email", flat=True))
        assert invited == {"amy.adams@maple.example", "cy.cole@maple.example"}
        assert Invitation.objects.get(email="cy.cole@maple.example").is_site_admin

        # The HTMX poll gets the partial with the finished report, and stops polling.
        partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in partial and "2 invited" in partial and "hx-trigger" not in partial

        # Running the task again changes nothing.
        from portal.accounts.tasks import bulk_invitation_run

        assert bulk_invitation_run(str(bulk.uuid))["good"] == 2
        assert Invitation.objects.filter(organization=maple).count() == 2
    finally:
        Invitation.objects.filter(organization=maple).delete()
        BulkInvitation.objects.filter(organization=maple).delete()


def test_a_file_without_the_columns_is_refused_before_anything_runs(cast, sign_in):
    client = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    response = client.post("/admin/users/import/", {"file": SimpleUploadedFile("x.csv", b"name,phone\nA,1\n")})
    assert "missing: email, role" in response.content.decode()
    assert not BulkInvitation.objects.exists()
