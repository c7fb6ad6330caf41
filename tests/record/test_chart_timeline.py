"""The chart's timeline: every entry as a row (what, when, value, status, who published it,
a link to it, "new since you looked"), and a chart of 200 entries from five organizations
for a fixed number of queries."""

import datetime as dt
import re
import uuid

from django.utils import timezone
from django.utils.html import escape

from portal.audit.models import AuditEvent
from portal.patients.models import EntryStatus, RegistryEntry, RelationshipKind
from portal.patients.services import care_relationship_start


def _rows(html: str) -> list[str]:
    """The entry rows of the chart's timeline (or of a page of rows alone)."""
    timeline = html
    if 'id="timeline"' in html:
        timeline = html[html.index('id="timeline"') : html.index("</ol>", html.index('id="timeline"'))]
    return re.findall(r"<li class=\"[a-z]+\">.*?</li>", timeline, flags=re.S)


def _entry(patient, organization, **fields) -> RegistryEntry:
    values = {
        "kind": "note",
        "title": "Progress note",
        "effective_at": timezone.now() - dt.timedelta(days=1),
        "item_uuid": uuid.uuid4(),
    }
    return RegistryEntry.objects.create(patient=patient, organization=organization, **(values | fields))


def test_a_timeline_row_shows_the_entry_its_value_status_source_and_link(cast, sign_in):
    maria, maple, northfield = cast.patients["maria"], cast.organizations["maple"], cast.organizations["northfield"]
    lab = _entry(
        maria,
        northfield,
        kind="lab_result",
        title="White <b>cells</b> & more",
        effective_at=dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC),
        summary={"value": "2.1", "unit": "10^3/uL", "flag": "low"},
        status=EntryStatus.AMENDED,
    )
    page = sign_in(cast.users["park"], maple).get(f"/patients/{maria.uuid}/").content.decode()
    [row] = [row for row in _rows(page) if str(lab.uuid) in row]
    assert row.startswith('<li class="amended">')
    assert '<time datetime="2026-03-04">Mar 4, 2026</time>' in row
    assert '<span class="kind">Lab result</span>' in row
    assert f'<a href="/patients/{maria.uuid}/entries/{lab.uuid}/">White &lt;b&gt;cells&lt;/b&gt; &amp; more</a>' in row
    assert '<span class="flag-low">2.1 ×10³/µL <span aria-hidden="true">↓</span>' in row
    assert '<span class="visually-hidden">(low)</span>' in row
    assert '<span class="badge badge-amended">amended</span>' in row
    assert '<span class="badge badge-source">Northfield Cancer Institute</span>' in row
    assert "<b>" not in page  # the title is text, never markup


def test_the_timeline_marks_what_partners_published_since_the_last_look(cast, sign_in):
    maria, maple, northfield = cast.patients["maria"], cast.organizations["maple"], cast.organizations["northfield"]
    park = sign_in(cast.users["park"], maple)
    first = park.get(f"/patients/{maria.uuid}/").content.decode()
    assert "new-dot" not in first  # never opened before: nothing is singled out
    theirs = _entry(maria, northfield, title="Their new note")
    ours = _entry(maria, maple, title="Our new note")
    rows = _rows(park.get(f"/patients/{maria.uuid}/").content.decode())
    marked = [row for row in rows if "new-dot" in row]
    assert len(marked) == 1 and str(theirs.uuid) in marked[0]
    assert '<span class="visually-hidden">New:</span>' in marked[0]
    assert not any(str(ours.uuid) in row for row in marked)
    assert "new-dot" not in park.get(f"/patients/{maria.uuid}/").content.decode()  # seen now


def _two_hundred_entries(cast) -> list:
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    partners = [cast.organizations[slug] for slug in ("northfield", "lakeside", "stbrendans", "cedarvalley")]
    for partner in partners[1:]:
        care_relationship_start(patient=maria, organization=partner, kind=RelationshipKind.CARE_TEAM)
    publishers = [maple, *partners]
    kinds = ["lab_result", "medication", "problem", "note", "treatment", "allergy", "imaging"]
    RegistryEntry.objects.bulk_create(
        RegistryEntry(
            patient=maria,
            organization=publishers[n % 5],
            kind=kinds[n % len(kinds)],
            title=f"Entry {n}",
            effective_at=timezone.now() - dt.timedelta(days=n),
            item_uuid=uuid.uuid4(),
            summary={"value": str(n), "unit": "g/dL", "status": "active"},
        )
        for n in range(200)
    )
    return publishers


def _older_form(html: str) -> dict[str, str] | None:
    """The "Show older entries" control's fields, or None when there is none."""
    if 'id="timeline-more"' not in html:
        return None
    control = html[html.index('id="timeline-more"') :]
    control = control[: control.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', control))


def test_a_chart_of_200_entries_from_five_organizations_costs_a_fixed_number_of_queries(
    cast, sign_in, django_assert_max_num_queries
):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    publishers = _two_hundred_entries(cast)
    park = sign_in(cast.users["park"], maple)
    park.get(f"/patients/{maria.uuid}/")  # the permission ids are cached from here on
    # The address (2 search paths, the domain), session, user, membership, grants, group,
    # patient, entries, their organizations, the view mark and the audit event (with their
    # savepoint), drafts, messages, referrals, tasks, hand-offs, notifications: 21, where
    # one more query per entry would be 200 more.
    with django_assert_max_num_queries(21):
        page = park.get(f"/patients/{maria.uuid}/").content.decode()
    newest = list(RegistryEntry.objects.filter(patient=maria).order_by("-effective_at", "-published_at", "-id"))
    rows = _rows(page)
    assert len(rows) == 50  # the timeline's first page: the newest 50, newest first
    assert all(str(entry.uuid) in row for entry, row in zip(newest, rows, strict=False))
    assert "Show older entries" in page
    assert _older_form(page) == {"after": str(newest[49].uuid), "since": _older_form(page)["since"]}
    for organization in publishers:  # the panels still read the newest 200
        assert f'<span class="badge badge-source">{escape(organization.name)}</span>' in page


def test_show_older_entries_pages_through_the_whole_timeline_in_place_and_audits_each_page(
    cast, sign_in, django_assert_max_num_queries
):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    _two_hundred_entries(cast)
    park = sign_in(cast.users["park"], maple)
    newest = list(RegistryEntry.objects.filter(patient=maria).order_by("-effective_at", "-published_at", "-id"))
    page = park.get(f"/patients/{maria.uuid}/").content.decode()
    seen = _rows(page)
    form = _older_form(page)
    pages = 0
    while form is not None:
        reads = AuditEvent.objects.filter(action="read", patient=maria, object_type="chart").count()
        # The address, session, user, membership, grants, patient, the cursor entry, the
        # entries, their organizations, the audit events, notifications: no more per entry.
        with django_assert_max_num_queries(16):
            answer = park.get(f"/patients/{maria.uuid}/timeline/", form, HTTP_HX_REQUEST="true")
        assert answer.status_code == 200
        html = answer.content.decode()
        assert "<html" not in html  # the rows alone, to put in place of the control
        assert AuditEvent.objects.filter(action="read", patient=maria, object_type="chart").count() > reads
        seen += _rows(html)
        form = _older_form(html)
        pages += 1
    assert len(newest) > 200  # past the 200 the chart reads: the whole history is reachable
    assert pages == -(-(len(newest) - 50) // 50)
    assert len(seen) == len(newest)
    assert all(str(entry.uuid) in row for entry, row in zip(newest, seen, strict=True))
    # Without JavaScript the control is a plain link to a page of its own.
    plain = park.get(f"/patients/{maria.uuid}/timeline/", {"after": str(newest[49].uuid)}).content.decode()
    assert "<html" in plain and "Back to the chart" in plain
    assert len(_rows(plain)) == 50 and str(newest[50].uuid) in _rows(plain)[0]


def test_older_entries_keep_the_new_since_you_looked_mark(cast, sign_in):
    maria, maple, northfield = cast.patients["maria"], cast.organizations["maple"], cast.organizations["northfield"]
    park = sign_in(cast.users["park"], maple)
    park.get(f"/patients/{maria.uuid}/")
    for n in range(60):  # published after the look, dated in the past: the oldest land on page two
        _entry(maria, northfield, title=f"Backdated {n}", effective_at=timezone.now() - dt.timedelta(days=400 + n))
    page = park.get(f"/patients/{maria.uuid}/").content.decode()
    form = _older_form(page)
    assert form is not None and form.get("since")
    html = park.get(f"/patients/{maria.uuid}/timeline/", form, HTTP_HX_REQUEST="true").content.decode()
    backdated = [row for row in _rows(html) if "Backdated" in row]
    assert backdated and all("new-dot" in row for row in backdated)
    without = {key: value for key, value in form.items() if key != "since"}
    html = park.get(f"/patients/{maria.uuid}/timeline/", without, HTTP_HX_REQUEST="true").content.decode()
    assert "new-dot" not in html


def test_older_entries_refuse_a_bad_cursor_and_hide_what_the_user_may_not_see(cast, sign_in):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    url = f"/patients/{maria.uuid}/timeline/"
    refused = park.get(url, {"after": "not-an-entry"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and "not a page of the timeline" in refused.content.decode()
    assert park.get(url, {"since": "yesterday"}).status_code == 400
    # Another patient's entry as the cursor, or one that does not exist: the same 404.
    other_patient = cast.patients[next(name for name in cast.patients if name != "maria")]
    other = _entry(other_patient, maple, title="Someone else's note")
    assert park.get(url, {"after": str(other.uuid)}).status_code == 404
    assert park.get(url, {"after": str(uuid.uuid4())}).status_code == 404
    # Dr. Chen at Cedar Valley may not open Maria: 404, and nothing read is audited.
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    before = AuditEvent.objects.filter(action="read", patient=maria).count()
    assert chen.get(url).status_code == 404
    assert AuditEvent.objects.filter(action="read", patient=maria).count() == before
