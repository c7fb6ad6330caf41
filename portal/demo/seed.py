"""Seeding the demo network. Idempotent: a second run finds everything and changes nothing.

The foundation seeds organizations, people, patients and care relationships; each app
that has demo data adds a ``demo.py`` with ``seed(cast)``, called here in order.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from portal.accounts.demo import demo_user_ready
from portal.accounts.models import Membership, User
from portal.accounts.roles import MembershipStatus
from portal.demo.cast import DEMO_PASSWORD, MARIA, NETWORK_ADMIN, ORGANIZATIONS, PEOPLE, Cast, synthetic_patients
from portal.patients.access import chart_permissions_sync_all
from portal.patients.models import CareRelationship, RelationshipKind
from portal.patients.services import care_relationship_start, patient_identifier_ensure
from tenants.models import Organization, OrganizationStatus
from tenants.services import network_ensure, organization_create

if TYPE_CHECKING:
    from portal.patients.models import NetworkPatient

# Apps that add their own demo data, in dependency order.
APP_SEEDS = [
    "portal.records.demo",
    "portal.messaging.demo",
    "portal.care.demo",
    "portal.boards.demo",
    "tenants.demo",
    "portal.demo.history",  # twelve months of history: seed_demo only, not the test session
]


def _user(email: str, full_name: str, credentials: str, **extra: object) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email,
            DEMO_PASSWORD,
            full_name=full_name,
            credentials=credentials,
            terms_accepted_version="",
            **extra,
        )
    demo_user_ready(user=user)  # terms accepted, TOTP device with the demo secret (portal/accounts/demo.py)
    return user


def seed_foundation() -> Cast:
    cast = Cast()
    cast.network = network_ensure()
    for slug, name, kind, city, npi in ORGANIZATIONS:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            organization = organization_create(
                name=name, slug=slug, kind=kind, status=OrganizationStatus.ACTIVE, npi=npi, city=city
            )
            Organization.objects.filter(pk=organization.pk).update(went_live_at=timezone.now())
        cast.organizations[slug] = organization

    with transaction.atomic():
        key, email, full_name, credentials = NETWORK_ADMIN
        cast.users[key] = _user(email, full_name, credentials, is_network_admin=True, is_staff=True)
        now = timezone.now()
        for key, email, full_name, credentials, slug, role, site_admin, title in PEOPLE:
            user = _user(email, full_name, credentials)
            Membership.objects.get_or_create(
                user=user,
                organization=cast.organizations[slug],
                defaults={
                    "role": role,
                    "is_site_admin": site_admin,
                    "title": title,
                    "status": MembershipStatus.ACTIVE,
                    "last_attested_at": now,
                },
            )
            cast.users[key] = user
        _seed_patients(cast)
        chart_permissions_sync_all()
    return cast


def _seed_patients(cast: Cast) -> None:
    orgs = cast.organizations
    users = cast.users
    given, family, born, sex = MARIA
    maria = patient_identifier_ensure(
        organization=orgs["northfield"],
        mrn="NCI-100234",
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex=sex,
    )
    patient_identifier_ensure(
        organization=orgs["maple"],
        mrn="MFM-55871",
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex=sex,
    )
    cast.patients["maria"] = maria
    _relate(maria, orgs["northfield"], RelationshipKind.CARE_TEAM, users["okafor"], users["okafor"])
    _relate(maria, orgs["maple"], RelationshipKind.PCP_OF_RECORD, users["park"], users["park"])

    # The rest of the panel: each patient belongs to one cancer-care organization and
    # one primary-care practice, so every clinician's list has real-looking patients.
    oncology = ["northfield", "northfield", "lakeside", "stbrendans"]
    primary = ["maple", "maple", "cedarvalley"]
    clinicians = {
        "northfield": "okafor",
        "lakeside": "ortega",
        "stbrendans": "brooks",
        "maple": "park",
        "cedarvalley": "chen",
    }
    prefixes = {"northfield": "NCI", "lakeside": "LOA", "stbrendans": "SBH", "maple": "MFM", "cedarvalley": "CVC"}
    for index, (given, family, born, sex) in enumerate(synthetic_patients()):
        onc = oncology[index % len(oncology)]
        pcp = primary[index % len(primary)]
        patient = None
        for slug in (onc, pcp):
            patient = patient_identifier_ensure(
                organization=orgs[slug],
                mrn=f"{prefixes[slug]}-{200100 + index * 7}",
                given_name=given,
                family_name=family,
                date_of_birth=born,
                sex=sex,
            )
        assert patient is not None
        cast.patients[f"{given} {family}"] = patient
        _relate(patient, orgs[onc], RelationshipKind.CARE_TEAM, users[clinicians[onc]], users[clinicians[onc]])
        _relate(patient, orgs[pcp], RelationshipKind.PCP_OF_RECORD, users[clinicians[pcp]], users[clinicians[pcp]])


def _relate(patient: NetworkPatient, organization: Organization, kind: str, clinician: User, granted_by: User) -> None:
    if CareRelationship.objects.filter(patient=patient, organization=organization, kind=kind).exists():
        return
    care_relationship_start(
        patient=patient,
        organization=organization,
        kind=kind,
        clinician=clinician,
        granted_by=granted_by,
        starts_at=timezone.now() - timedelta(days=120),
    )


def seed_all() -> Cast:
    cast = seed_foundation()
    for module_name in APP_SEEDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.seed(cast)
    return cast


def cast_load() -> Cast:
    """The seeded cast, read back without writing anything (for tests)."""
    from portal.patients.models import NetworkPatient, PatientIdentifier

    cast = Cast()
    cast.network = Organization.objects.get(schema_name="public")
    by_slug = {org.slug: org for org in Organization.objects.filter(slug__in=[o[0] for o in ORGANIZATIONS])}
    cast.organizations = {slug: by_slug[slug] for slug, *_ in ORGANIZATIONS}
    emails = {person[1]: person[0] for person in PEOPLE}
    emails[NETWORK_ADMIN[1]] = NETWORK_ADMIN[0]
    for user in User.objects.filter(email__in=emails):
        cast.users[emails[user.email]] = user
    maria = PatientIdentifier.objects.select_related("patient").get(
        organization=cast.organizations["northfield"], mrn="NCI-100234"
    )
    cast.patients["maria"] = maria.patient
    names = {(given, family) for given, family, _born, _sex in synthetic_patients()}
    for patient in NetworkPatient.objects.filter(identifiers__organization__in=cast.organizations.values()).distinct():
        if (patient.given_name, patient.family_name) in names:
            cast.patients[f"{patient.given_name} {patient.family_name}"] = patient
    return cast
