"""The fixed cast of the demo network and the tests. Every person here is invented."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from portal.accounts.roles import Role
from tenants.models import OrganizationKind

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.patients.models import NetworkPatient
    from tenants.models import Organization

DEMO_PASSWORD = "continuum-demo-2026"

ORGANIZATIONS = [
    # slug, name, kind, city, npi
    ("northfield", "Northfield Cancer Institute", OrganizationKind.ACADEMIC_CANCER_CENTER, "Northfield", "1245319599"),
    ("lakeside", "Lakeside Oncology Associates", OrganizationKind.COMMUNITY_ONCOLOGY, "Lakeside", "1730188533"),
    ("stbrendans", "St. Brendan's Hospital", OrganizationKind.HOSPITAL, "Brookport", "1497758544"),
    ("maple", "Maple Family Medicine", OrganizationKind.PRIMARY_CARE, "Maple Grove", "1356463236"),
    ("cedarvalley", "Cedar Valley Clinic", OrganizationKind.PRIMARY_CARE, "Cedar Valley", "1023011178"),
]

# key, email, full name, credentials, organization slug, role, site admin, title
PEOPLE = [
    (
        "okafor",
        "olivia.okafor@northfield.example",
        "Olivia Okafor",
        "MD",
        "northfield",
        Role.ONCOLOGIST,
        False,
        "Medical oncology",
    ),
    (
        "navarro",
        "nina.navarro@northfield.example",
        "Nina Navarro",
        "RN",
        "northfield",
        Role.NURSE_NAVIGATOR,
        False,
        "Oncology nurse navigator",
    ),
    (
        "northfield_admin",
        "grace.whitfield@northfield.example",
        "Grace Whitfield",
        "",
        "northfield",
        Role.ORG_ADMIN,
        True,
        "Access administrator",
    ),
    (
        "northfield_admin2",
        "tom.becker@northfield.example",
        "Tom Becker",
        "",
        "northfield",
        Role.ORG_ADMIN,
        True,
        "IT security",
    ),
    (
        "ortega",
        "luis.ortega@lakeside.example",
        "Luis Ortega",
        "MD",
        "lakeside",
        Role.ONCOLOGIST,
        False,
        "Hematology/oncology",
    ),
    (
        "lakeside_admin",
        "ruth.lang@lakeside.example",
        "Ruth Lang",
        "",
        "lakeside",
        Role.ORG_ADMIN,
        True,
        "Practice manager",
    ),
    (
        "lakeside_admin2",
        "marcus.webb@lakeside.example",
        "Marcus Webb",
        "",
        "lakeside",
        Role.ORG_ADMIN,
        True,
        "IT manager",
    ),
    (
        "brooks",
        "hannah.brooks@stbrendans.example",
        "Hannah Brooks",
        "MD",
        "stbrendans",
        Role.SURGEON,
        False,
        "Surgical oncology",
    ),
    (
        "stbrendans_admin",
        "owen.price@stbrendans.example",
        "Owen Price",
        "",
        "stbrendans",
        Role.ORG_ADMIN,
        True,
        "Health information",
    ),
    (
        "stbrendans_admin2",
        "leah.fontaine@stbrendans.example",
        "Leah Fontaine",
        "",
        "stbrendans",
        Role.ORG_ADMIN,
        True,
        "Privacy officer",
    ),
    (
        "park",
        "peter.park@maple.example",
        "Peter Park",
        "MD",
        "maple",
        Role.PRIMARY_CARE_PHYSICIAN,
        False,
        "Family medicine",
    ),
    ("maple_admin", "dana.moss@maple.example", "Dana Moss", "", "maple", Role.ORG_ADMIN, True, "Office manager"),
    (
        "maple_admin2",
        "joel.pruitt@maple.example",
        "Joel Pruitt",
        "",
        "maple",
        Role.ORG_ADMIN,
        True,
        "Practice IT lead",
    ),
    (
        "chen",
        "carla.chen@cedarvalley.example",
        "Carla Chen",
        "MD",
        "cedarvalley",
        Role.PRIMARY_CARE_PHYSICIAN,
        False,
        "Internal medicine",
    ),
    (
        "cedarvalley_admin",
        "ivan.holt@cedarvalley.example",
        "Ivan Holt",
        "",
        "cedarvalley",
        Role.ORG_ADMIN,
        True,
        "Office manager",
    ),
    (
        "cedarvalley_admin2",
        "miriam.ashford@cedarvalley.example",
        "Miriam Ashford",
        "",
        "cedarvalley",
        Role.ORG_ADMIN,
        True,
        "Compliance officer",
    ),
]
NETWORK_ADMIN = ("network_admin", "nora.quinn@network.example", "Nora Quinn", "")

MARIA = ("Maria", "Alvarez", dt.date(1961, 4, 12), "female")

GIVEN = {
    "female": [
        "Ava",
        "Beatrice",
        "Chloe",
        "Delia",
        "Elena",
        "Fiona",
        "Grace",
        "Helen",
        "Irene",
        "Joan",
        "Keiko",
        "Lena",
        "Mona",
        "Nadia",
        "Opal",
        "Priya",
        "Rosa",
        "Sofia",
    ],
    "male": [
        "Aaron",
        "Bruno",
        "Caleb",
        "Dmitri",
        "Ethan",
        "Felix",
        "George",
        "Hugo",
        "Isaac",
        "Jamal",
        "Kenji",
        "Liam",
        "Marco",
        "Nikhil",
        "Oscar",
        "Rafael",
        "Samir",
        "Tobias",
    ],
}
FAMILY = [
    "Abernathy",
    "Bellweather",
    "Castellano",
    "Drummond",
    "Ekwueme",
    "Falkner",
    "Gallagher",
    "Halvorsen",
    "Ibarra",
    "Jankowski",
    "Kowalczyk",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Oyelaran",
    "Petrov",
    "Quintero",
    "Rasmussen",
    "Sandoval",
    "Thibodeaux",
    "Underhill",
    "Valdivia",
    "Whitcombe",
    "Yilmaz",
    "Zamora",
]


@dataclass
class Cast:
    organizations: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    patients: dict[str, NetworkPatient] = field(default_factory=dict)
    network: Organization | None = None


def synthetic_patients(count: int = 36) -> list[tuple[str, str, dt.date, str]]:
    """Deterministic invented patients (same list on every run)."""
    rng = random.Random(20260101)
    people: list[tuple[str, str, dt.date, str]] = []
    used = {(MARIA[0], MARIA[1])}
    while len(people) < count:
        sex = rng.choice(["female", "male"])
        given = rng.choice(GIVEN[sex])
        family = rng.choice(FAMILY)
        if (given, family) in used:
            continue
        used.add((given, family))
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
        people.append((given, family, born, sex))
    return people
