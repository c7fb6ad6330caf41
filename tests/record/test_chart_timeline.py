"""The chart's timeline: every entry as a row (what, when, value, status, who published it,
a link to it, "new since you looked"), and a chart of 200 entries from five organizations
for a fixed number of queries."""

import datetime as dt
import re
import uuid

from django.utils import timezone
from django.utils.html import escape

from portal.patients.models import EntryStatus, RegistryEntry, RelationshipKind
from portal.patients.services import care_relationship_start


def _rows(html: str) -> list[str]:
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


def test_a_chart_of_200_entries_from_five_organizations_costs_a_fixed_number_of_queries(
    cast, sign_in, django_assert_max_num_queries
):
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
    park = sign_in(cast.users["park"], maple)
    park.get(f"/patients/{maria.uuid}/")  # the permission ids are cached from here on
    # The address (2 search paths, the domain), session, user, membership, grants, group,
    # patient, entries, their organizations, the view mark and the audit event (with their
    # savepoint), drafts, messages, referrals, tasks, hand-offs, notifications: 21, where
    # one more query per entry would be 200 more.
    with django_assert_max_num_queries(21):
        page = park.get(f"/patients/{maria.uuid}/").content.decode()
    newest = RegistryEntry.objects.filter(patient=maria).order_by("-effective_at", "-published_at")[:200]
    rows = _rows(page)
    assert len(rows) == 200  # the chart's limit: the newest 200, newest first
    assert all(str(entry.uuid) in row for entry, row in zip(newest, rows, strict=True))
    for organization in publishers:
        assert f'<span class="badge badge-source">{escape(organization.name)}</span>' in page
