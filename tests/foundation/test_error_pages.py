"""Refusals and failures are visible: the portal's 403 (with the reason), 404 and 500
pages, and an error region in every HTMX form."""

import re
from pathlib import Path

from django.test import Client, RequestFactory

from portal.messaging.models import Message
from tests.conftest import host_of
from tests.messaging.helpers import okafor_writes_park

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_every_htmx_form_in_the_templates_has_an_error_region():
    forms = 0
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<form\b[^>]*>", text):
            end = text.find("</form>", match.end())
            body = text[match.end() : end]
            htmx = re.search(r"hx-(get|post|put|patch|delete)=", match.group(0) + body)
            if htmx:
                forms += 1
                assert "error_region.html" in body or "data-error-region" in body, f"{path.name}: {match.group(0)}"
    assert forms >= 8
    # Elements outside a form (a polling bell, a queue) report into the page's own region.
    assert 'id="page-error"' in (TEMPLATES / "base.html").read_text()
    assert "js/htmx-errors.js" in (TEMPLATES / "base.html").read_text()


def test_a_refusal_shows_the_portals_403_page_with_the_reason(cast, sign_in):
    admin = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    response = admin.get("/messages/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Secure messaging is for clinical staff." in page
    assert "data-reason" in page and 'aria-label="Main"' in page and "Maple Family Medicine" in page


def test_a_missing_page_shows_the_portals_404_page_saying_nothing_about_what_exists(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    missing = park.get("/no-such-page/")
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    forbidden = chen.get(f"/patients/{cast.patients['maria'].uuid}/")
    assert missing.status_code == forbidden.status_code == 404
    for response in (missing, forbidden):
        page = response.content.decode()
        assert "There is nothing here for you" in page and 'aria-label="Main"' in page
        assert "Alvarez" not in page


def test_the_500_page_is_self_contained_and_asks_nothing_of_the_database():
    """No ``db`` fixture: any query while rendering it would raise."""
    from portal.errors import server_error

    response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in page and "css/portal.css" in page and "data-reason" in page


def test_an_expired_form_token_shows_the_portals_page_with_what_to_do(cast, sign_in):
    maple = cast.organizations["maple"]
    strict = Client(HTTP_HOST=host_of(maple), enforce_csrf_checks=True)
    strict.cookies = sign_in(cast.users["park"], maple).cookies
    response = strict.post("/notifications/read/", {"all": "1"})
    assert response.status_code == 403
    assert "Reload the page and try again: nothing was sent." in response.content.decode()


def test_a_refused_quick_reply_comes_back_as_the_form_with_the_reason_and_what_was_typed(cast, sign_in):
    thread = okafor_writes_park(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = Message.objects.filter(thread=thread).count()
    response = park.post(
        f"/messages/{thread.uuid}/reply/",
        {"from": "inbox", "body": "x" * 10_001},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    fragment = response.content.decode()
    assert "<html" not in fragment and "The reply was not sent:" in fragment and "at most 10000" in fragment
    assert "data-error-region" in fragment and "x" * 100 in fragment
    assert Message.objects.filter(thread=thread).count() == before


def test_the_participant_picker_offers_only_who_may_be_added(cast, sign_in):
    from portal.messaging.selectors import recipient_choices

    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = okafor.get(f"/messages/{thread.uuid}/").content.decode()
    picker = page[page.index('id="participants"') : page.index("</section>", page.index('id="participants"'))]
    chen = f"u:{cast.organizations['cedarvalley'].pk}:{cast.users['chen'].pk}"
    park = f"u:{cast.organizations['maple'].pk}:{cast.users['park'].pk}"
    navarro = f"u:{cast.organizations['northfield'].pk}:{cast.users['navarro'].pk}"
    assert chen not in picker  # may not see Maria
    assert f'value="{park}"' not in picker  # takes part already
    assert f'value="{navarro}"' in picker
    assert f'value="p:{cast.organizations["cedarvalley"].pk}"' not in picker
    # The bulk rule gives the same answer as asking person by person.
    from portal.accounts.models import Membership
    from portal.patients.selectors import user_can_view_patient

    maria = cast.patients["maria"]
    listed = {
        value for value, _ in recipient_choices(user=cast.users["okafor"], organization=None, patient=maria)["people"]
    }
    for membership in Membership.objects.active().clinical().filter(organization__status="active"):
        value = f"u:{membership.organization_id}:{membership.user_id}"
        if membership.user_id != cast.users["okafor"].pk:
            expected = user_can_view_patient(user=membership.user, organization=membership.organization, patient=maria)
            assert (value in listed) == expected, value
