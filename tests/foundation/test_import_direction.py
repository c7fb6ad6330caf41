"""Dependencies run one way: a module imports only from its own place or below it.

The order is the README's ("Where code goes"); this test is where it is checked. A module's
place is (its tier, its app): the tier from what kind of module it is (domain code below the
ways in, demo data and the site's routes on top), the app from the longest prefix in APPS
that names it. Every import of `portal` and `tenants` is read with `ast`, at module level
and inside functions alike, so a lazy import does not hide an upward dependency; imports
under `if TYPE_CHECKING:` only name a class for an annotation and are not judged."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The apps, lowest first. A module belongs to the app of the longest prefix that names it.
APPS: list[tuple[str, tuple[str, ...]]] = [
    ("api", ("portal.api",)),  # the API's base classes, permissions, paging and error shape
    ("organizations", ("tenants",)),  # the organization and its address
    ("notifications", ("portal.notifications",)),
    ("audit log", ("portal.audit.models", "portal.audit.services", "portal.audit.labels")),
    ("accounts", ("portal.accounts",)),
    ("patients", ("portal.patients",)),
    ("network", ("tenants.services", "tenants.selectors", "tenants.views", "tenants.forms", "tenants.urls")),
    ("audit", ("portal.audit",)),  # the access log's pages and the alert on repeated refusals
    ("records", ("portal.records",)),
    ("messaging", ("portal.messaging",)),
    ("care", ("portal.care",)),
    ("boards", ("portal.boards",)),
    ("scorecard", ("portal.care.scorecard",)),  # reads care, messaging and tumor boards
    ("fhir", ("portal.fhir",)),
    ("home", ("portal.home",)),
]

# Each app's modules stand in one of these tiers, lowest first: the small shared modules of
# the `portal` package; domain code (models, selectors, services, tasks); the ways in (views,
# API, forms, middleware, routes of an app, commands); demo data; the site's wiring.
TIERS = ("foundation", "domain", "entry", "demo", "site")
ENTRY_PARTS = frozenset(
    {
        "views",
        "gate_views",
        "admin_views",
        "api",
        "urls",
        "api_urls",
        "admin_urls",
        "forms",
        "middleware",
        "context_processors",
        "backends",
        "admin",
        "management",
    }
)
SITE_MODULES = frozenset(
    {"portal.urls_common", "portal.urls_public", "portal.urls_tenant", "portal.api.urls", "portal.wsgi", "portal.run"}
)

# Imports that point upward on purpose: (importing module, imported module) -> why.
# Only hooks that must name the higher module (a registry, a signal receiver) belong here.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    ("portal.celery", "portal.notifications.tasks"): (
        "the worker_ready signal hook: a worker that starts hands over the deliveries that waited for it"
    ),
}


def _position(module: str) -> tuple[int, int] | None:
    """(tier, app) of a module of ours, lowest first; None for a module of another package."""
    if module.split(".")[0] not in ("portal", "tenants"):
        return None
    parts = module.split(".")
    if module in SITE_MODULES:
        return (TIERS.index("site"), 0)
    if "demo" in parts or parts[-1].startswith(("demo_", "seed_demo")):
        return (TIERS.index("demo"), 0)
    app = None
    best = 0
    for index, (_name, prefixes) in enumerate(APPS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                app, best = index, len(prefix)
    if app is None:
        return (TIERS.index("foundation"), 0)  # portal itself: text, forms, errors, uploads, settings, celery, ...
    tier = "entry" if ENTRY_PARTS.intersection(parts[1:]) else "domain"
    return (TIERS.index(tier), app)


def _describe(position: tuple[int, int]) -> str:
    tier, app = position
    if TIERS[tier] in ("domain", "entry"):
        return f"{APPS[app][0]}, {TIERS[tier]}"
    return TIERS[tier]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import the file runs, wherever it stands (module
    level or inside a function); not those under ``if TYPE_CHECKING:``, which only name a
    class for an annotation (the user model, say) and never run."""
    tree = ast.parse(path.read_text(), filename=str(path))
    annotation_only = {
        id(inner)
        for node in ast.walk(tree)
        if _is_type_checking(node)
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in annotation_only:
            continue
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            if node.module in ("portal", "tenants"):  # `from portal import uploads`: the names are modules
                found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _sources() -> list[Path]:
    files = [*ROOT.joinpath("portal").rglob("*.py"), *ROOT.joinpath("tenants").rglob("*.py")]
    return sorted(path for path in files if "migrations" not in path.parts)


def upward_imports() -> list[str]:
    problems = []
    for path in _sources():
        importer = _module_name(path)
        own = _position(importer)
        assert own is not None
        for line, imported in _imports(path):
            theirs = _position(imported)
            if theirs is None or theirs <= own or (importer, imported) in ALLOWED_UPWARD:
                continue
            problems.append(
                f"{path.relative_to(ROOT)}:{line}: {importer} ({_describe(own)}) imports "
                f"{imported} ({_describe(theirs)}), which is above it"
            )
    return sorted(set(problems))


def test_no_module_imports_a_higher_layer():
    problems = upward_imports()
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_lazy_upward_import(tmp_path):
    """The checker itself: an import inside a function is read and judged like any other;
    one under ``if TYPE_CHECKING:`` is not."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from portal.care.models import Referral\n"
        "def tiles():\n    from portal.messaging.selectors import unread_thread_count\n"
    )
    imported = [name for _line, name in _imports(source)]
    assert "portal.messaging.selectors" in imported and "portal.care.models" not in imported
    assert _position("portal.accounts.selectors") < _position("portal.messaging.selectors")  # type: ignore[operator]
    assert _position("tenants.models") < _position("portal.accounts.models") < _position("tenants.services")  # type: ignore[operator]
    assert _position("portal.messaging.selectors") < _position("portal.patients.views")  # type: ignore[operator]


def test_every_allowed_upward_import_still_exists():
    """An exception whose import is gone is removed from the list, not kept as a licence."""
    present = {(_module_name(path), name) for path in _sources() for _line, name in _imports(path)}
    assert not [pair for pair in ALLOWED_UPWARD if pair not in present]
