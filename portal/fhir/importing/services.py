"""Importing a transaction or batch Bundle into an organization's record.

``bundle_import`` is the one entry point, for the portal's signed-in session and for API
clients alike: the organization, the acting person, and the scopes that narrow what they may
write (``None`` for a session: the person's role decides). A transaction is one database
transaction: any entry that fails fails it, and nothing is left behind. A batch answers each
entry, each written atomically (a cancer Condition and the Observations folded into it
together).

What happens to each resource (``inverse``):
- a Patient is matched with the registration rules of the pages (``patient_register``): an
  exact match links, a probable match is queued for review and never merged silently, and
  registering opens only this organization's own entries;
- a clinical resource becomes an item of this organization (``items_import``): a draft, or
  published when the Bundle or the resource carries the ``publish`` tag and the person may;
- a Practitioner, Organization or Location is remembered by its keys, so references to it
  resolve now and in later imports;
- anything else is listed in the answer as not kept, never dropped without a word.

Conditional creates (``ifNoneExist``) and conditional or id-addressed PUTs find what this
organization imported before (``ImportedResource``), so posting the same Bundle again creates
nothing; a PUT with other content changes the item it became (``item_import_update``: a
published item corrected, a draft changed in place), and a PUT naming one of this
organization's entries by its id changes that entry. Any other id is the sender's own: the
first PUT creates (an item of this organization, never a change to anyone else's), so the
answer is the same whether the id is another organization's entry or nobody's, and says
nothing of what exists elsewhere.

An API client imports through the same path (``principal``): as the clinician its site admin
named (``ApiClient.import_as``), its token's scopes narrowing each entry (create ``c``,
change ``u``), the items naming it (``via_client_id``) and the import's audit event having it
as the actor. Imports of one organization run one at a time (an advisory lock), so two posts of the
same Bundle cannot both create.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict

from portal import uploads
from portal.accounts.models import Membership, User
from portal.accounts.roles import AUTHOR_ROLES
from portal.audit.services import AuditAction, audit_records
from portal.fhir import codes as c
from portal.fhir.importing.inverse import Plan, diagnosis_values, plan_for, tagged_publish
from portal.fhir.importing.parse import ImportFailure, Request, entry_request, resource_check, resource_shape
from portal.fhir.importing.references import Criteria, Resolver, Target, criteria_parse, identifier_keys
from portal.fhir.scopes import ClientPrincipal, Scope, ScopeError, ScopeSet, parse_scope
from portal.patients.matching import normalize_name
from portal.patients.models import NetworkPatient, PatientIdentifier, RegistryEntry
from portal.patients.services import patient_register
from portal.records.models import ClinicalItem, ImportedResource
from portal.records.services import (
    DOCUMENT_KINDS,
    MAX_DOCUMENT_BYTES,
    ImportItem,
    ItemImportError,
    item_create,
    item_current,
    item_import_update,
    items_import,
)
from tenants.connection import tenant_connection
from tenants.models import Organization

PART_SUFFIX = {"stage": "stage", "t": "t", "n": "n", "m": "m", "er": "er", "pr": "pr", "her2": "her2"}
PART_SUFFIX.update({"ecog": "ecog", "status": "status"})
READ_AS = {
    "cancer_diagnosis": "Condition",
    "problem": "Condition",
    "lab_result": "Observation",
    "medication": "MedicationStatement",
    "allergy": "AllergyIntolerance",
    "imaging_report": "DiagnosticReport",
    "pathology_report": "DiagnosticReport",
    "note": "DocumentReference",
    "consult_note": "DocumentReference",
    "document": "DocumentReference",
}
STATUS_TEXT = {
    200: "200 OK",
    201: "201 Created",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    412: "412 Precondition Failed",
    422: "422 Unprocessable Entity",
}


# --- who may write what ---------------------------------------------------------------------


def scope_allows(scopes: Sequence[str] | None, resource_type: str, action: str) -> bool:
    """Whether SMART scopes (v1 ``system/Observation.write``, ``system/*.*``; v2
    ``system/Observation.cu``) allow ``action`` (``c`` create, ``u`` update) on a type, read
    by the API clients' one scope parser (``portal.fhir.scopes``); a scope it refuses allows
    nothing. ``None`` (the portal's session) leaves the decision to the person's role."""
    if scopes is None:
        return True
    allowed: list[Scope] = []
    for text in scopes:
        try:
            allowed.append(parse_scope(text))
        except ScopeError:
            continue
    return ScopeSet(tuple(allowed)).allows(resource_type, {"c": "create", "u": "update"}[action])


# --- one entry of the Bundle -------------------------------------------------------------------


@dataclass
class Entry:
    index: int
    full_url: str
    raw: Any
    request: Request | None = None
    resource: dict[str, Any] | None = None
    plan: Plan | None = None
    failure: ImportFailure | None = None
    status: int = 0
    location: str = ""
    notes: list[str] = field(default_factory=list)
    patient: NetworkPatient | None = None
    existing: ImportedResource | None = None
    criteria: Criteria | None = None
    publish: bool = False
    digest: str = ""
    references: list[tuple[str, str]] = field(default_factory=list)  # (reference, where)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"

    @property
    def resource_type(self) -> str:
        return str((self.resource or {}).get("resourceType", ""))

    def label(self) -> str:
        return f"{self.where} ({self.resource_type})" if self.resource_type else self.where


def _digest(resource: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class ImportResult:
    """The answer: a transaction-response or batch-response Bundle, and what was done."""

    bundle: dict[str, Any]
    created: int
    unchanged: int
    not_kept: int
    failed: int
    patients: list[NetworkPatient]


class Importer:
    def __init__(
        self,
        *,
        organization: Organization,
        user: User,
        bundle: dict[str, Any],
        scopes: Sequence[str] | None,
        client: str,
        base: str,
        request: HttpRequest | None,
        principal: ClientPrincipal | None = None,
    ) -> None:
        self.organization, self.user, self.bundle = organization, user, bundle
        self.principal = principal
        self.api_client = principal.client if principal is not None else None
        self.scopes, self.client, self.base, self.request = scopes, client, base, request
        self.transaction = bundle["type"] == "transaction"
        self.publish_all = tagged_publish(bundle)
        raw = bundle.get("entry") or []
        self.entries = [
            Entry(index=i, full_url=str(e.get("fullUrl") or "") if isinstance(e, dict) else "", raw=e)
            for i, e in enumerate(raw)
        ]
        self.resolver: Resolver | None = None
        self.imported_rows: list[ImportedResource] = []
        # A transaction's items, written together once every entry is read and resolved.
        self.pending: list[tuple[list[Entry], ImportItem]] = []
        # Files written for DocumentReferences: removed again when their rows roll back.
        self.written_files: list[FieldFile] = []

    # --- failures: a transaction stops at the first; a batch marks the entry -----------------

    def fail(self, entry: Entry, failure: ImportFailure) -> None:
        if self.transaction:
            raise failure
        entry.failure = failure

    def run(self) -> ImportResult:
        if tenant_connection.schema_name != self.organization.schema_name:
            raise PermissionDenied("An import writes in its organization's own schema.")
        membership = Membership.objects.active().filter(user=self.user, organization=self.organization).first()
        if membership is None or membership.role not in AUTHOR_ROLES:
            if self.api_client is not None:
                raise PermissionDenied(
                    f"The clinician this client imports for ({self.user.display_name}) no longer authors clinical "
                    f"items at {self.organization.name}: a site admin names another."
                )
            raise PermissionDenied("Only clinicians of this organization who author clinical items import them.")
        self.membership = membership
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"fhir-import:{self.organization.schema_name}"]
            )
        for entry in self.entries:
            self._read(entry)
        live = [e for e in self.entries if e.failure is None]
        self.resolver = Resolver(
            organization=self.organization,
            user=self.user,
            base=self.base,
            resources=[(e.full_url, e.resource if e.failure is None else None) for e in self.entries],
        )
        self._load_earlier(live)
        for entry in live:
            # Which entries are resources imported before, known before any reference is
            # resolved (a conditional reference to one counts it once).
            if entry.criteria is not None:
                found = self.resolver.earlier(entry.resource_type, entry.criteria)
                if len(found) == 1:
                    self.resolver.entry_matches[entry.index] = found[0]
        for entry in live:
            self._validate(entry)
        live = [e for e in live if e.failure is None]
        for entry in live:
            if entry.plan is not None and entry.plan.role == "patient":
                self._guarded([entry], self._patient)
        for entry in live:
            if entry.plan is not None and entry.plan.role == "directory":
                self._guarded([entry], self._directory)
        for entry in live:
            if entry.failure is None and entry.status == 0:
                self._guarded([entry], self._references)
        for unit in self._units():
            self._guarded(unit, self._items)
        if self.transaction:
            self._write(self.pending)
        for entry in self.entries:
            if entry.failure is None and entry.status == 0 and entry.plan is not None and entry.plan.role == "not_kept":
                if not scope_allows(self.scopes, entry.resource_type, "c"):
                    self.fail(entry, self._refusal(entry, "c"))
                    continue
                entry.status = 200
                entry.notes.append(entry.plan.reason)
        if self.imported_rows:
            ImportedResource.objects.bulk_create(self.imported_rows)
        return self._answer()

    def files_remove(self, since: int = 0) -> None:
        """Remove the files written since the ``since``-th (their rows were rolled back)."""
        for written in self.written_files[since:]:
            if written.name:
                written.storage.delete(written.name)
        del self.written_files[since:]

    def _guarded(self, unit: list[Entry], step: Any) -> None:
        """Run a step for a unit of entries; in a batch, in a savepoint of its own, a failure
        marking every entry of the unit."""
        if any(e.failure is not None for e in unit):
            failed = next(e for e in unit if e.failure is not None)
            for entry in unit:
                if entry.failure is None:
                    entry.failure = ImportFailure(
                        422,
                        f"{entry.where}: not written, as {failed.label()} it goes with failed.",
                        code="processing",
                        expression=entry.where,
                    )
            return
        if self.transaction:
            step(*unit) if len(unit) == 1 else step(unit)
            return
        rows_before, files_before = len(self.imported_rows), len(self.written_files)
        try:
            with transaction.atomic():
                step(*unit) if len(unit) == 1 else step(unit)
        except ImportFailure as failure:
            del self.imported_rows[rows_before:]
            self.files_remove(since=files_before)
            for entry in unit:
                entry.failure, entry.status, entry.location = failure, 0, ""

    # --- reading each entry ------------------------------------------------------------------

    def _read(self, entry: Entry) -> None:
        """The entry's request and resource, before validation (cheap: its shape only)."""
        try:
            entry.request = entry_request(entry.raw, entry.index)
            resource = entry.raw.get("resource")
            resource_shape(resource, f"{entry.where}.resource")
            entry.resource = resource
            entry.references = list(_walk(resource, f"{entry.where}.resource"))
            entry.digest = _digest(resource)
            self._check_request(entry)
            kind = entry.resource_type
            if not scope_allows(self.scopes, kind, "c") and not scope_allows(self.scopes, kind, "u"):
                raise self._refusal(entry, "c")  # before anything is read of it
        except ImportFailure as failure:
            self.fail(entry, failure)

    def _validate(self, entry: Entry) -> None:
        """Validate the resource — unless it is, byte for byte, one this organization imported
        (and validated) before under the same condition: a re-posted Bundle — and plan it."""
        assert self.resolver is not None and entry.resource is not None
        try:
            earlier = self.resolver.entry_matches.get(entry.index)
            if earlier is None or earlier.digest != entry.digest:
                resource_check(entry.resource, f"{entry.where}.resource")
            entry.plan = plan_for(entry.resource, f"{entry.where}.resource")
            entry.publish = self.publish_all or tagged_publish(entry.resource)
        except ImportFailure as failure:
            self.fail(entry, failure)

    def _check_request(self, entry: Entry) -> None:
        assert entry.request is not None
        kind, url, method = entry.resource_type, entry.request.url, entry.request.method
        where = f"{entry.where}.request"
        if method not in ("POST", "PUT"):
            raise ImportFailure(
                405, f"{where}: {method} is not taken in an import (POST and PUT are).", code="not-supported"
            )
        target_type = url.split("?", 1)[0].split("/", 1)[0]
        if target_type != kind:
            raise ImportFailure(
                422, f"{where}.url {url!r} does not name the entry's {kind}.", expression=f"{where}.url"
            )
        if method == "POST":
            if url.split("?", 1)[0] != kind:
                raise ImportFailure(
                    422, f"{where}.url: a POST names the resource type only.", expression=f"{where}.url"
                )
            if entry.request.if_none_exist:
                entry.criteria = criteria_parse(entry.request.if_none_exist, f"{where}.ifNoneExist")
        elif "?" in url:
            entry.criteria = criteria_parse(url, f"{where}.url")
        else:
            parts = url.split("/")
            if len(parts) != 2 or not parts[1]:
                raise ImportFailure(
                    422, f"{where}.url: a PUT names Type/id or Type?identifier=…", expression=f"{where}.url"
                )
            entry.criteria = Criteria(identifiers=[], source_id=parts[1][:64])
            resource_id = (entry.resource or {}).get("id")
            if resource_id is not None and resource_id != parts[1]:
                raise ImportFailure(
                    400, f"{where}.url: the resource's id is not the one in the url.", expression=f"{where}.url"
                )

    def _load_earlier(self, live: list[Entry]) -> None:
        """Read once every earlier import this Bundle may name (by id or identifier)."""
        assert self.resolver is not None
        keys: set[str] = set()
        ids: set[str] = set()
        for entry in live:
            if entry.resource is None:
                continue
            keys.update(identifier_keys(entry.resource))
            if entry.criteria is not None:
                keys.update(entry.criteria.identifiers)
                if entry.criteria.source_id:
                    ids.add(entry.criteria.source_id)
            for reference, _where in entry.references:
                if "?" in reference:
                    try:
                        criteria = criteria_parse(reference, entry.where)
                    except ImportFailure:
                        continue
                    keys.update(criteria.identifiers)
                elif reference.count("/") == 1 and not reference.startswith(("urn:", "http")):
                    ids.add(reference.split("/")[1])
        rows: list[ImportedResource] = []
        if keys:
            rows += list(
                ImportedResource.objects.filter(identifiers__overlap=sorted(keys)).select_related("patient", "item")
            )
        if ids:
            rows += list(ImportedResource.objects.filter(source_id__in=sorted(ids)).select_related("patient", "item"))
        self.resolver.remember(list({row.pk: row for row in rows}.values()))

    def _match(self, entry: Entry) -> ImportedResource | None:
        """The earlier import an entry's condition (ifNoneExist, a conditional or id PUT) finds;
        for a PUT to one of this organization's own resources (``Condition/<entry uuid>``), an
        unsaved row naming its item."""
        assert self.resolver is not None
        if entry.criteria is None:
            return None
        found = self.resolver.earlier(entry.resource_type, entry.criteria)
        if len(found) > 1:
            raise ImportFailure(
                412,
                f"{entry.where}.request: its condition matches {len(found)} resources imported before, not one.",
                code="multiple-matches",
                expression=f"{entry.where}.request",
            )
        if found:
            self.resolver.entry_matches[entry.index] = found[0]
            return found[0]
        if entry.criteria.source_id and entry.request is not None and entry.request.method == "PUT":
            return self._own_resource(entry, entry.criteria.source_id)
        return None

    def _own_resource(self, entry: Entry, resource_id: str) -> ImportedResource | None:
        """A PUT naming one of this organization's entries by its id (``<entry uuid>[-suffix]``):
        its item (an unsaved ``ImportedResource`` pointing at it). Another organization's entry
        is not looked at: its id is then the sender's own, like any unknown id."""
        from portal.fhir.selectors import UUID_PREFIX

        match = UUID_PREFIX.match(resource_id)
        if match is None:
            return None
        row = (
            RegistryEntry.objects.filter(uuid=match.group(1), organization=self.organization)
            .only("item_uuid", "kind")
            .first()
        )
        if row is None:
            return None
        where = f"{entry.where}.request.url"
        item = ClinicalItem.objects.filter(pk=row.item_uuid).select_related("patient").first()
        if item is None:
            raise ImportFailure(404, f"{where}: no such resource.", code="not-found", expression=where)
        return ImportedResource(
            resource_type=entry.resource_type,
            source_id=resource_id,
            digest="",
            item=item,
            patient=item.patient,
            part=match.group(2) or "",
            imported_by=self.user,
        )

    def _unchanged_or_refused(self, entry: Entry, earlier: ImportedResource | None) -> None:
        """A Patient, Practitioner, Organization or Location PUT again with other content: 409
        (a person's identity changes through the pages' registration)."""
        if earlier is None or entry.request is None or entry.request.method != "PUT" or earlier.digest == entry.digest:
            return
        raise ImportFailure(
            409,
            f"{entry.where}: this PUT changes a {entry.resource_type} imported before; a {entry.resource_type} is not "
            "changed through an import (a patient's details are corrected on the pages).",
            code="conflict",
            expression=entry.where,
        )

    def _remember(
        self, entry: Entry, *, patient: NetworkPatient | None, item: ClinicalItem | None, part: str = ""
    ) -> None:
        resource = entry.resource or {}
        source_id = entry.criteria.source_id if entry.criteria is not None and entry.criteria.source_id else ""
        if not source_id and isinstance(resource.get("id"), str):
            source_id = resource["id"][:64]
        keys = sorted(set(identifier_keys(resource)) | set(entry.criteria.identifiers if entry.criteria else []))
        name = resource.get("name")
        display = name if isinstance(name, str) else ""
        self.imported_rows.append(
            ImportedResource(
                resource_type=entry.resource_type,
                source_id=source_id,
                identifiers=keys,
                digest=entry.digest or _digest(resource),
                patient=patient,
                item=item,
                part=part,
                display=display[:200],
                imported_by=self.user,
            )
        )

    def _allowed(self, entry: Entry, action: str = "c") -> None:
        if not scope_allows(self.scopes, entry.resource_type, action):
            raise self._refusal(entry, action)

    def _refusal(self, entry: Entry, action: str) -> ImportFailure:
        verb = {"c": "creating", "u": "changing"}[action]
        return ImportFailure(
            403,
            f"{entry.where}: this client's scopes ({' '.join(self.scopes or [])}) do not allow {verb} "
            f"{entry.resource_type}; nothing of it was written.",
            code="forbidden",
            expression=entry.where,
        )

    # --- patients ------------------------------------------------------------------------------

    def _patient(self, entry: Entry) -> None:
        resource, where = entry.resource or {}, f"{entry.where}.resource"
        self._allowed(entry)
        names = resource.get("name") or []
        official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
        family, given = str(official.get("family") or "").strip(), " ".join(official.get("given") or []).strip()
        if not family or not given:
            raise ImportFailure(422, f"{where}.name: a Patient needs a family and a given name.", code="required")
        birth = str(resource.get("birthDate") or "")
        if len(birth) != 10:
            raise ImportFailure(422, f"{where}.birthDate: a Patient needs a full date of birth.", code="required")
        date_of_birth = dt.date.fromisoformat(birth)
        gender = str(resource.get("gender") or "")
        sex = gender if gender in ("male", "female", "other") else "unknown"
        mrn = _mrn_of(resource, self.organization)
        if not mrn:
            raise ImportFailure(
                422,
                f"{where}.identifier: a Patient needs an identifier (the medical record number here).",
                code="required",
            )
        earlier = self._match(entry)
        if earlier is not None and earlier.item is not None:
            raise ImportFailure(
                409, f"{entry.where}.request.url: names a clinical item, not a Patient.", code="conflict"
            )
        self._unchanged_or_refused(entry, earlier)
        if earlier is None:
            assert self.resolver is not None
            keyed = {
                row.pk: row
                for key in identifier_keys(resource)
                for row in self.resolver.imported.get(f"Patient/{key}", [])
            }
            earlier = next(iter(keyed.values())) if len(keyed) == 1 else None
        patient = earlier.patient if earlier is not None else None
        key = normalize_name(given, family)
        if patient is None:
            registered = (
                PatientIdentifier.objects.filter(organization=self.organization, mrn__iexact=mrn[:40])
                .select_related("patient")
                .first()
            )
            if registered is not None:
                if registered.patient.match_key != key or registered.patient.date_of_birth != date_of_birth:
                    raise ImportFailure(
                        422,
                        f"{where}.identifier: MRN {mrn} is registered here for another name or date of birth.",
                        code="conflict",
                    )
                patient = registered.patient
        if patient is None:
            patient = NetworkPatient.objects.filter(
                match_key=key, date_of_birth=date_of_birth, sex=sex, identifiers__organization=self.organization
            ).first()
        if patient is not None:
            entry.status = 200
        else:
            try:
                registration = patient_register(
                    organization=self.organization,
                    mrn=mrn[:40],
                    given_name=given[:100],
                    family_name=family[:100],
                    date_of_birth=date_of_birth,
                    sex=sex,
                    registered_by=self.user,
                    clinician=self.user,
                )
            except ValidationError as error:
                raise ImportFailure(422, f"{where}: {'; '.join(error.messages)}", code="invariant")
            patient = registration.patient
            entry.status = 201
        if earlier is None:
            self._remember(entry, patient=patient, item=None)
        entry.patient = patient
        entry.location = f"Patient/{patient.uuid}"

    # --- directory ---------------------------------------------------------------------------

    def _directory(self, entry: Entry) -> None:
        self._allowed(entry)
        self._references(entry)
        earlier = self._match(entry)
        self._unchanged_or_refused(entry, earlier)
        if earlier is not None:
            entry.status = 200
            return
        self._remember(entry, patient=None, item=None)
        entry.status = 201
        entry.notes.append(
            f"{entry.resource_type} kept by its keys (ids and identifiers), so references to it resolve; "
            "it is not served by this endpoint."
        )

    # --- references ---------------------------------------------------------------------------

    def _references(self, entry: Entry) -> None:
        assert self.resolver is not None
        for reference, where in entry.references:
            target = self.resolver.resolve(reference, where)
            if target.entry is not None and self.entries[target.entry].failure is not None:
                raise ImportFailure(
                    422,
                    f"{where}: the reference {reference!r} names {self.entries[target.entry].label()}, which failed.",
                    code="processing",
                    expression=where,
                )

    def _subject(self, entry: Entry) -> NetworkPatient:
        assert self.resolver is not None and entry.plan is not None
        reference, where = entry.plan.subject, f"{entry.where}.resource.subject"
        if not reference:
            raise ImportFailure(422, f"{where}: the resource names no patient.", code="required", expression=where)
        target: Target = self.resolver.resolve(reference, where)
        if target.entry is not None:
            named = self.entries[target.entry]
            if named.resource_type != "Patient" or named.patient is None:
                raise ImportFailure(422, f"{where}: {reference!r} is not a Patient of this Bundle.", expression=where)
            return named.patient
        if target.patient is None:
            raise ImportFailure(422, f"{where}: {reference!r} names no patient.", code="not-found", expression=where)
        return target.patient

    # --- clinical items -----------------------------------------------------------------------

    def _units(self) -> list[list[Entry]]:
        """Clinical entries grouped as they are written: a cancer Condition with the
        Observations folded into it, every other item alone."""
        assert self.resolver is not None
        clinical = [
            e for e in self.entries if e.failure is None and e.plan is not None and e.plan.role in ("item", "part")
        ]
        conditions = {e.index: [e] for e in clinical if e.plan and e.plan.kind == "cancer_diagnosis"}
        stage_members: dict[int, int] = {}
        for entry in clinical:
            plan = entry.plan
            if plan is None or plan.part != "stage":
                continue
            for reference in plan.members:
                try:
                    target = self.resolver.resolve(reference, entry.where)
                except ImportFailure:
                    continue
                if target.entry is not None:
                    stage_members[target.entry] = entry.index
        units: list[list[Entry]] = []
        for entry in clinical:
            plan = entry.plan
            assert plan is not None
            if plan.role == "item":
                if plan.kind != "cancer_diagnosis":
                    units.append([entry])
                continue
            try:
                condition = self._condition_of(entry, conditions, stage_members)
            except ImportFailure as failure:
                self.fail(entry, failure)
                continue
            conditions[condition].append(entry)
        units.extend(conditions.values())
        return units

    def _condition_of(self, entry: Entry, conditions: dict[int, list[Entry]], stage_members: dict[int, int]) -> int:
        assert self.resolver is not None and entry.plan is not None
        for reference in entry.plan.focus:
            target = self.resolver.resolve(reference, f"{entry.where}.resource.focus")
            if target.entry in conditions:
                return target.entry
        if entry.plan.focus:
            raise ImportFailure(
                422,
                f"{entry.where}.resource.focus: names no cancer Condition (mCODE primary or secondary) of this Bundle; "
                "a stage, marker, ECOG or disease status is imported with its Condition.",
                code="not-found",
                expression=f"{entry.where}.resource.focus",
            )
        stage = stage_members.get(entry.index)
        if stage is not None:
            return self._condition_of(self.entries[stage], conditions, {})
        subject = entry.plan.subject
        same_patient = [i for i in conditions if (self.entries[i].plan or Plan(role="")).subject == subject]
        if len(same_patient) == 1:
            return same_patient[0]
        raise ImportFailure(
            422,
            f"{entry.where}.resource: name the cancer Condition this Observation is about (focus); "
            f"this Bundle has {len(same_patient)} for its patient.",
            code="required",
            expression=f"{entry.where}.resource.focus",
        )

    def _items(self, unit: list[Entry] | Entry) -> None:
        """Write one unit's item (a batch) — or, in a transaction, every unit at once: the
        transaction's units are collected here and written by ``_flush``."""
        entries = unit if isinstance(unit, list) else [unit]
        main = entries[0]
        for entry in entries:
            self._allowed(entry)
        patient = self._subject(main)
        for entry in entries[1:]:
            if self._subject(entry) != patient:
                raise ImportFailure(
                    422,
                    f"{entry.where}: its patient is not its Condition's.",
                    expression=f"{entry.where}.resource.subject",
                )
        matches = [self._match(entry) for entry in entries]
        if matches[0] is not None:
            earlier = matches[0]
            if any(m is None or m.item_id != earlier.item_id for m in matches[1:]):
                new = next(
                    e for e, m in zip(entries, matches, strict=True) if m is None or m.item_id != earlier.item_id
                )
                raise ImportFailure(
                    409,
                    f"{new.where}: adds to a diagnosis imported before; a diagnosis changes as a whole (PUT its "
                    "Condition and every Observation imported with it, under the ids or identifiers they were "
                    "imported with).",
                    code="conflict",
                    expression=new.where,
                )
            changed = [e for e, m in zip(entries, matches, strict=True) if m is not None and m.digest != e.digest]
            if changed and all(e.request is not None and e.request.method == "PUT" for e in changed):
                self._update(entries, matches, patient)
                return
            item = earlier.item
            if item is not None:
                item = self._current(item)
            for entry in entries:
                entry.status = 200
                entry.patient = patient
                if item is not None and item.status == "published":
                    entry.location = self._location(entry, item)
            return
        if any(m is not None for m in matches):
            old = next(e for e, m in zip(entries, matches, strict=True) if m is not None)
            raise ImportFailure(
                409,
                f"{old.where}: was imported before as part of another item.",
                code="conflict",
                expression=old.where,
            )
        plan = main.plan
        assert plan is not None
        values = self._values(entries)
        publish = any(e.publish for e in entries)
        if plan.kind == "document":
            self._document(main, patient, values, publish)
            return
        pending = (entries, ImportItem(patient=patient, kind=plan.kind, values=values, publish=publish))
        if self.transaction:
            self.pending.append(pending)
        else:
            self._write([pending])

    def _document(self, entry: Entry, patient: NetworkPatient, values: dict[str, Any], publish: bool) -> None:
        """An uploaded file (a DocumentReference with a PDF or image inline), written at once
        with the upload page's checks (``item_create``: its content read whole, at most 10 MB)."""
        plan = entry.plan
        assert plan is not None and plan.file is not None
        at = f"{entry.where}.resource.content[0].attachment"
        upload = SimpleUploadedFile(plan.file_name, plan.file, content_type=plan.file_type)
        try:
            kind = uploads.upload_check(upload, kinds=DOCUMENT_KINDS, max_bytes=MAX_DOCUMENT_BYTES, field="file")
            if kind.content_type != plan.file_type:
                raise ImportFailure(
                    422,
                    f"{at}.contentType: says {plan.file_type}, but the data is a {kind.label}.",
                    expression=f"{at}.contentType",
                )
            with transaction.atomic():
                item = item_create(
                    user=self.user,
                    organization=self.organization,
                    patient=patient,
                    kind="document",
                    values=values,
                    files=MultiValueDict({"file": [upload]}),
                    publish=publish,
                    request=self.request,
                    via=self.api_client,
                )
        except ValidationError as error:
            raise ImportFailure(422, f"{entry.label()}: " + "; ".join(_messages(error)), expression=f"{at}.data")
        except PermissionDenied as error:
            raise ImportFailure(403, f"{entry.where}: {error}", code="forbidden")
        self.written_files.append(item.document.file)
        entry.status, entry.patient = 201, patient
        self._remember(entry, patient=patient, item=item)
        if publish:
            entry.location = self._location(entry, item, look_up=True)
        else:
            entry.notes.append(
                f"Saved as a draft of {self.organization.name}: shared, and readable here, once published."
            )

    def _values(self, entries: list[Entry]) -> dict[str, Any]:
        """The item's values (its kind's form) from a unit's resources."""
        main = entries[0]
        plan = main.plan
        assert plan is not None
        values = dict(plan.values)
        if plan.kind == "cancer_diagnosis":
            values = diagnosis_values(values, [e.plan for e in entries[1:] if e.plan is not None], main.where)
        if plan.medication_reference:
            values[_name_field(plan.kind)] = self._medication_name(main)
        return values

    def _current(self, item: ClinicalItem) -> ClinicalItem:
        return item_current(item) if item.status == "superseded" else item

    def _update(self, entries: list[Entry], matches: list[ImportedResource | None], patient: NetworkPatient) -> None:
        """A unit PUT again with other content: the item it became is changed — a published
        item corrected (a new version, its Provenance an UPDATE), a draft changed in place — or
        nothing when the content, once read into the item, is the same."""
        main, earlier = entries[0], matches[0]
        assert main.plan is not None and earlier is not None and earlier.item is not None
        for entry in entries:
            self._allowed(entry, "u")
        item = self._current(earlier.item)
        if item.kind != main.plan.kind:
            raise ImportFailure(
                409,
                f"{main.where}: names a {item.get_kind_display().lower()} of the record, not what this resource is.",
                code="conflict",
                expression=f"{main.where}.request.url",
            )
        if item.patient_id != patient.pk:
            raise ImportFailure(
                409,
                f"{main.where}.resource.subject: an update does not move an item to another patient.",
                code="conflict",
                expression=f"{main.where}.resource.subject",
            )
        if item.kind == "cancer_diagnosis":
            saved = [m for m in matches if m is not None and m.pk is not None and not m._state.adding]
            every = set(ImportedResource.objects.filter(item__in=_chain_ids(item)).values_list("pk", flat=True))
            if not saved or {m.pk for m in saved} != every:
                raise ImportFailure(
                    409,
                    f"{main.where}: a diagnosis changes as a whole: PUT its Condition and every Observation imported "
                    "with it, under the ids or identifiers they were imported with.",
                    code="conflict",
                    expression=main.where,
                )
        values = self._values(entries)
        try:
            changed = item_import_update(
                user=self.user,
                organization=self.organization,
                item=item,
                values=values,
                request=self.request,
                via=self.api_client,
            )
        except ValidationError as error:
            raise ImportFailure(422, f"{main.label()}: " + "; ".join(_messages(error)), expression=main.where)
        except PermissionDenied as error:
            raise ImportFailure(403, f"{main.where}: {error}", code="forbidden")
        current = changed or item
        if changed is not None and changed.pk != item.pk:
            ImportedResource.objects.filter(item__in=_chain_ids(item)).update(item=changed)
        for entry, match in zip(entries, matches, strict=True):
            entry.status = 200
            entry.patient = patient
            assert match is not None
            if match._state.adding:
                part = entry.plan.part if entry.plan is not None and entry is not main else ""
                self._remember(entry, patient=patient, item=current, part=part)
            else:
                ImportedResource.objects.filter(pk=match.pk).update(digest=entry.digest)
            if current.status == "published":
                entry.location = self._location(entry, current, look_up=True)
            if changed is None:
                entry.notes.append("The same as the record already says: nothing changed.")
            elif current.status == "published":
                entry.notes.append(f"Corrected: version {current.version} of the entry (the earlier in _history).")
            else:
                entry.notes.append(f"The draft of {self.organization.name} is changed.")

    def _write(self, pending: list[tuple[list[Entry], ImportItem]]) -> None:
        if not pending:
            return
        try:
            items = items_import(
                user=self.user,
                organization=self.organization,
                items=[p[1] for p in pending],
                request=self.request,
                via=self.api_client,
            )
        except ItemImportError as error:
            entries = pending[error.index][0]
            raise ImportFailure(
                422,
                f"{entries[0].label()}: " + "; ".join(_messages(error)),
                code="invalid",
                expression=entries[0].where,
            )
        except PermissionDenied as error:
            raise ImportFailure(403, f"{pending[0][0][0].where}: {error}", code="forbidden")
        for (entries, imported), item in zip(pending, items, strict=True):
            for position, entry in enumerate(entries):
                entry.status = 201
                entry.patient = imported.patient
                part = entry.plan.part if entry.plan is not None and position else ""
                self._remember(entry, patient=imported.patient, item=item, part=part)
                if imported.publish:
                    entry.location = self._location(entry, item)
                else:
                    entry.notes.append(
                        f"Saved as a draft of {self.organization.name}: shared, and readable here, once published."
                    )
                read_as = entry.plan.read_as if entry.plan is not None else ""
                if read_as and read_as != entry.resource_type:
                    entry.notes.append(f"Kept as a {read_as.lower()} of the record (read back as {read_as}).")

    def _location(self, entry: Entry, item: ClinicalItem, *, look_up: bool = False) -> str:
        """Where a published item's resource reads: its registry entry's uuid (an imported
        item's first version's id; looked up for a later version or when ``look_up``)."""
        plan = entry.plan
        assert plan is not None
        entry_id: Any = item.pk
        if item.version > 1 or look_up or item.kind == "document":
            entry_id = (
                RegistryEntry.objects.filter(organization=self.organization, item_uuid=item.pk)
                .values_list("uuid", flat=True)
                .first()
                or item.pk
            )
        if plan.role == "part":
            if plan.part == "marker":
                return ""
            return f"Observation/{entry_id}-{PART_SUFFIX[plan.part]}/_history/{item.version}"
        kind = READ_AS.get(item.kind) or entry.resource_type
        if item.kind == "treatment":
            kind = "Procedure" if item.data.get("modality") in ("surgery", "radiation") else "MedicationRequest"
        return f"{kind}/{entry_id}/_history/{item.version}"

    def _medication_name(self, entry: Entry) -> str:
        assert self.resolver is not None and entry.plan is not None
        reference = entry.plan.medication_reference
        target = self.resolver.resolve(reference, f"{entry.where}.resource.medicationReference")
        medication = self.entries[target.entry].resource if target.entry is not None else None
        if not medication or medication.get("resourceType") != "Medication":
            raise ImportFailure(
                422,
                f"{entry.where}.resource.medicationReference: name a Medication of this Bundle, or give "
                "medicationCodeableConcept.",
                code="not-found",
            )
        from portal.fhir.importing.inverse import text_of

        return text_of(medication.get("code"))

    # --- the answer -----------------------------------------------------------------------------

    def _answer(self) -> ImportResult:
        entries = []
        counts = {"created": 0, "unchanged": 0, "not_kept": 0, "failed": 0}
        for entry in self.entries:
            response: dict[str, Any]
            if entry.failure is not None:
                counts["failed"] += 1
                response = {
                    "status": STATUS_TEXT.get(entry.failure.status, f"{entry.failure.status}"),
                    "outcome": {"resourceType": "OperationOutcome", "issue": [entry.failure.issue()]},
                }
            else:
                if entry.plan is not None and entry.plan.role == "not_kept":
                    counts["not_kept"] += 1
                elif entry.status == 201:
                    counts["created"] += 1
                else:
                    counts["unchanged"] += 1
                response = {"status": STATUS_TEXT[entry.status or 200]}
                if entry.location:
                    response["location"] = entry.location
                if entry.notes:
                    code = (
                        "not-supported" if entry.plan is not None and entry.plan.role == "not_kept" else "informational"
                    )
                    response["outcome"] = {
                        "resourceType": "OperationOutcome",
                        "issue": [
                            {"severity": "information", "code": code, "diagnostics": note} for note in entry.notes
                        ],
                    }
            item: dict[str, Any] = {"response": response}
            if entry.full_url:
                item["fullUrl"] = entry.full_url
            entries.append(item)
        patients = list({e.patient.pk: e.patient for e in self.entries if e.patient is not None}.values())
        self._audit(patients, counts)
        from portal.fhir.mapping import instant

        answer = {
            "resourceType": "Bundle",
            "type": "transaction-response" if self.transaction else "batch-response",
            "meta": {"lastUpdated": instant(dt.datetime.now(dt.UTC))},
            "entry": entries,
        }
        return ImportResult(bundle=answer, patients=patients, **counts)

    def _audit(self, patients: list[NetworkPatient], counts: dict[str, int]) -> None:
        touched: list[NetworkPatient | None] = [*patients] or [None]
        detail: dict[str, Any] = {
            "interaction": f"import {self.bundle['type']}",
            "client": self.client,
            "entries": len(self.entries),
        }
        detail.update(counts)
        if self.principal is not None:
            detail["on_behalf_of"] = self.user.email
        for patient in touched:
            audit_records(
                data_owners=[self.organization],
                action=AuditAction.CREATE,
                actor=self.principal or self.user,
                organization=self.organization,
                request=self.request,
                object_type="fhir",
                object_id=f"import {self.bundle['type']}",
                patient=patient,
                detail=detail,
            )


def _chain_ids(item: ClinicalItem) -> list[Any]:
    """The ids of an item's versions (itself and those it corrects)."""
    ids = [item.pk]
    previous = item.previous_id
    while previous is not None:
        ids.append(previous)
        previous = ClinicalItem.objects.filter(pk=previous).values_list("previous_id", flat=True).first()
    return ids


def _name_field(kind: str) -> str:
    return "agents" if kind == "treatment" else "name"


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{field}: {message}" for field, messages in error.message_dict.items() for message in messages]
    return list(error.messages)


def _walk(resource: dict[str, Any], path: str) -> Any:
    from portal.fhir.importing.references import walk_references

    return walk_references(resource, path)


def _mrn_of(resource: dict[str, Any], organization: Organization) -> str:
    """The Patient's MRN here: our own MRN system for this organization, else the identifier
    typed MR, else the first identifier."""
    identifiers = [i for i in resource.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
    ours = c.MRN_SYSTEM + str(organization.uuid)
    for identifier in identifiers:
        if identifier.get("system") == ours:
            return str(identifier["value"])
    for identifier in identifiers:
        if "MR" in [coding.get("code") for coding in (identifier.get("type") or {}).get("coding") or []]:
            return str(identifier["value"])
    return str(identifiers[0]["value"]) if identifiers else ""


def bundle_import(
    *,
    organization: Organization,
    bundle: dict[str, Any],
    user: User | None = None,
    principal: ClientPrincipal | None = None,
    scopes: Sequence[str] | None = None,
    client: str = "portal-session",
    base: str = "",
    request: HttpRequest | None = None,
) -> ImportResult:
    """Import a transaction or batch Bundle (already read by ``parse.body_parse``) into this
    organization's record, acting as ``user`` (the portal's session) or as an API client
    (``principal``: for the clinician its site admin named, ``ApiClient.import_as``, narrowed
    by its token's scopes); ``scopes`` narrow what may be written (``None`` for a session: the
    person's role decides). A transaction raises ``ImportFailure`` (and leaves nothing) when
    any entry fails; a batch answers each entry. ``PermissionDenied`` when the person (or the
    client's clinician) may not import here at all."""
    if principal is not None:
        api_client = principal.client
        if api_client.organization_id != organization.pk or api_client.import_as is None:
            raise PermissionDenied(
                "This client imports for nobody: a site admin of the organization names the clinician it imports "
                "for (API clients, Imports on behalf of)."
            )
        user, scopes, client = api_client.import_as, str(principal.scopes).split(), f"client:{api_client.client_id}"
    if user is None:
        raise PermissionDenied("An import is made by a clinician or an API client.")
    importer = Importer(
        organization=organization,
        user=user,
        bundle=bundle,
        scopes=scopes,
        client=client,
        base=base,
        request=request,
        principal=principal,
    )
    try:
        with transaction.atomic():
            return importer.run()
    except BaseException:
        importer.files_remove()  # nothing half-written: not even a file on disk
        raise
