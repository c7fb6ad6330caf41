"""Data generator for the shared-record benchmark: patients, identifiers, care relationships,
their guardian permissions and registry entries, written with PostgreSQL COPY.

Columns come from the models' own metadata, so the generator follows model changes: a
row gives the values it cares about, every other column gets the field's default.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

FAMILY_ROOTS = [
    "Abern", "Bell", "Castel", "Drum", "Ekwu", "Falk", "Gallag", "Halvor", "Ibar", "Jankow", "Kowal", "Lind",
    "Mor", "Nakam", "Oyel", "Petr", "Quint", "Rasm", "Sandov", "Thibod", "Underh", "Valdiv", "Whitc", "Yilm",
    "Zamor", "Alvar", "Brenn", "Cortez", "Dalt", "Esper", "Fitzg", "Gonz", "Hartm", "Ivers", "Kessl", "Lozan",
]  # fmt: skip
FAMILY_ENDS = ["", "a", "ez", "son", "sen", "ova", "ini", "ley", "ston", "ford", "berg", "ski", "er", "ano", "eau"]
GIVEN = [
    "Ava", "Beatrice", "Chloe", "Delia", "Elena", "Fiona", "Grace", "Helen", "Irene", "Joan", "Keiko", "Lena",
    "Mona", "Nadia", "Opal", "Priya", "Rosa", "Sofia", "Aaron", "Bruno", "Caleb", "Dmitri", "Ethan", "Felix",
    "George", "Hugo", "Isaac", "Jamal", "Kenji", "Liam", "Marco", "Nikhil", "Oscar", "Rafael", "Samir", "Tobias",
]  # fmt: skip
KINDS = [
    ("lab_result", "Complete blood count", "57021-8"),
    ("lab_result", "Comprehensive metabolic panel", "24323-8"),
    ("lab_result", "Hemoglobin A1c", "4548-4"),
    ("note", "Progress note", ""),
    ("medication", "Metformin", "861007"),
    ("problem", "Essential hypertension", "I10"),
    ("imaging", "CT chest/abdomen/pelvis", ""),
    ("treatment", "AC-T chemotherapy", ""),
    ("allergy", "Penicillin", ""),
    ("procedure", "Screening colonoscopy", "45378"),
]


def copy_rows(model: Any, rows: Iterable[dict[str, Any]], *, schema: str | None = None) -> int:
    """COPY ``rows`` (dicts by attname) into ``model``'s table (of ``schema`` when named: an
    organization's repository); an auto-increment key is the database's. Returns the count."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.get_internal_type() in ("AutoField", "BigAutoField"))
    ]
    names = [f.column for f in fields]
    table = f'"{schema}"."{model._meta.db_table}"' if schema else model._meta.db_table
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for field in fields:
                    if field.attname in row:
                        value = row[field.attname]
                    elif getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                        value = now
                    else:
                        value = field.get_default()
                    if isinstance(value, dict | list):
                        value = json.dumps(value)
                    values.append(value)
                copy.write_row(values)
                count += 1
    return count


def _family(rng: random.Random) -> str:
    return rng.choice(FAMILY_ROOTS) + rng.choice(FAMILY_ENDS)


def generate(*, organizations: list[Any], patients: int, entries: int, seed: int = 7) -> dict[str, float]:
    """Write ``patients`` network patients, each cared for by two of ``organizations`` (with
    MRNs, relationships and the derived group permissions), and ``entries`` registry entries."""
    from django.contrib.auth.models import Permission
    from django.db import connection, transaction
    from django.utils import timezone

    from portal.patients.access import clinical_group_for
    from portal.patients.matching import normalize_name
    from portal.patients.models import (
        CareRelationship,
        NetworkPatient,
        NetworkPatientGroupObjectPermission,
        PatientIdentifier,
        RegistryEntry,
    )

    rng = random.Random(seed)
    timings: dict[str, float] = {}
    now = timezone.now()
    org_ids = [o.pk for o in organizations]
    groups = {o.pk: clinical_group_for(o).pk for o in organizations}
    # Both permissions a sharing relationship derives (portal.patients.access): the chart and
    # what the other organizations share, so a chart shows the whole shared record.
    permission_ids = list(
        Permission.objects.filter(
            codename__in=["view_chart", "view_shared_record"], content_type__app_label="patients"
        ).values_list("pk", flat=True)
    )
    started = time.monotonic()
    with transaction.atomic():
        before = NetworkPatient.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

        def patient_rows() -> Iterator[dict[str, Any]]:
            for _ in range(patients):
                sex = rng.choice(["female", "male"])
                given, family = rng.choice(GIVEN), _family(rng)
                yield {
                    "uuid": uuid.uuid4(),
                    "given_name": given,
                    "family_name": family,
                    "date_of_birth": dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 70)),
                    "sex": sex,
                    "match_key": normalize_name(given, family),
                }

        copy_rows(NetworkPatient, patient_rows())
        ids = list(NetworkPatient.objects.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True))
        timings["patients"] = time.monotonic() - started

        pairs: list[tuple[int, int, int]] = []  # (patient id, org a, org b)
        for index, pid in enumerate(ids):
            a = org_ids[index % len(org_ids)]
            b = org_ids[(index * 7 + 3) % len(org_ids)]
            if b == a:
                b = org_ids[(index + 1) % len(org_ids)]
            pairs.append((pid, a, b))
        started = time.monotonic()
        copy_rows(
            PatientIdentifier,
            (
                {"patient_id": pid, "organization_id": org, "mrn": f"B{org}-{pid}"}
                for pid, a, b in pairs
                for org in (a, b)
            ),
        )
        copy_rows(
            CareRelationship,
            (
                {
                    "patient_id": pid,
                    "organization_id": org,
                    "kind": "care_team" if n == 0 else "pcp_of_record",
                    "starts_at": now - dt.timedelta(days=400),
                }
                for pid, a, b in pairs
                for n, org in enumerate((a, b))
            ),
        )
        with connection.cursor() as cursor:  # the name key the search reads (see CareRelationship.match_key)
            cursor.execute(
                "UPDATE patients_carerelationship r SET match_key = p.match_key FROM patients_networkpatient p "
                "WHERE p.id = r.patient_id AND r.match_key = '' AND p.id > %s",
                [before],
            )
        copy_rows(
            NetworkPatientGroupObjectPermission,
            (
                {"permission_id": permission_id, "group_id": groups[org], "content_object_id": pid}
                for pid, a, b in pairs
                for org in (a, b)
                for permission_id in permission_ids
            ),
        )
        timings["identifiers, relationships, permissions"] = time.monotonic() - started

        started = time.monotonic()
        per_patient = max(1, entries // max(1, len(pairs)))

        def entry_rows() -> Iterator[dict[str, Any]]:
            written = 0
            for pid, a, b in pairs:
                for n in range(per_patient):
                    if written >= entries:
                        return
                    yield _entry(rng, now, pid, a if n % 2 == 0 else b, n)
                    written += 1

        copy_rows(RegistryEntry, entry_rows())
        timings["registry entries"] = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return timings


def _entry(rng: random.Random, now: dt.datetime, patient_id: int, organization_id: int, n: int) -> dict[str, Any]:
    """The ``n``-th registry entry of a patient, published by ``organization_id``."""
    kind, title, code = KINDS[n % len(KINDS)] if n else ("cancer_diagnosis", "Carcinoma", "C50.9")
    summary: dict[str, Any]
    if kind == "lab_result":
        value = round(rng.uniform(2.0, 12.0), 1)
        summary = {
            "values": [{"name": "WBC", "value": str(value), "unit": "10*3/uL", "flag": "L" if value < 4 else "N"}]
        }
    elif kind == "cancer_diagnosis":
        summary = {"stage": "IIA", "tnm": "cT2 cN0 cM0", "markers": "ER+ PR+ HER2−"}
    else:
        summary = {"status": "active"}
    return {
        "uuid": uuid.uuid4(),
        "patient_id": patient_id,
        "organization_id": organization_id,
        "kind": kind,
        "code": code,
        "title": title,
        "effective_at": now - dt.timedelta(days=rng.randrange(0, 1100), minutes=n),
        "summary": summary,
        "item_uuid": uuid.uuid4(),
        "version": 1,
        "status": "current",
        "published_at": now - dt.timedelta(days=rng.randrange(0, 1100)),
    }


def add_heavy_charts(
    *, organization: Any, partners: list[Any], patients: int, entries: int, seed: int = 11
) -> list[int]:
    """Give ``patients`` of ``organization``'s patients ``entries`` entries each, published by
    it and by ``partners`` (each given a sharing relationship and its permissions): the chart
    of a patient treated across the network. Returns their ids; idempotent."""
    from django.contrib.auth.models import Permission
    from django.db import connection, transaction
    from django.utils import timezone

    from portal.patients.access import clinical_group_for
    from portal.patients.models import CareRelationship, NetworkPatientGroupObjectPermission, RegistryEntry

    rng = random.Random(seed)
    now = timezone.now()
    chosen = list(
        CareRelationship.objects.filter(organization=organization)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)[:patients]
    )
    if RegistryEntry.objects.filter(patient_id=chosen[-1]).count() >= entries:
        return chosen
    publishers = [organization, *partners]
    permission_ids = list(
        Permission.objects.filter(
            codename__in=["view_chart", "view_shared_record"], content_type__app_label="patients"
        ).values_list("pk", flat=True)
    )
    with transaction.atomic():
        for partner in partners:
            known = set(
                CareRelationship.objects.filter(organization=partner, patient_id__in=chosen).values_list(
                    "patient_id", flat=True
                )
            )
            missing = [pid for pid in chosen if pid not in known]
            copy_rows(
                CareRelationship,
                (
                    {
                        "patient_id": pid,
                        "organization_id": partner.pk,
                        "kind": "care_team",
                        "starts_at": now - dt.timedelta(days=400),
                    }
                    for pid in missing
                ),
            )
            group_id = clinical_group_for(partner).pk
            copy_rows(
                NetworkPatientGroupObjectPermission,
                (
                    {"permission_id": permission_id, "group_id": group_id, "content_object_id": pid}
                    for pid in missing
                    for permission_id in permission_ids
                ),
            )
        with connection.cursor() as cursor:  # the name key the search reads
            cursor.execute(
                "UPDATE patients_carerelationship r SET match_key = p.match_key FROM patients_networkpatient p "
                "WHERE p.id = r.patient_id AND r.match_key = '' AND p.id = ANY(%s)",
                [chosen],
            )
        have = dict.fromkeys(chosen, 0)
        for row in RegistryEntry.objects.filter(patient_id__in=chosen).values("patient_id"):
            have[row["patient_id"]] += 1
        copy_rows(
            RegistryEntry,
            (
                _entry(rng, now, pid, publishers[n % len(publishers)].pk, n)
                for pid in chosen
                for n in range(have[pid], entries)
            ),
        )
    return chosen
