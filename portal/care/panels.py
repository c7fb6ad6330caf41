"""The tests a care task asks for, defined once: analytes (by their LOINC codes and the names
they go by) and the panels made of them (CBC, BMP…), and what a task's result must carry to
answer it.

Laboratories publish a panel one analyte per entry (Hemoglobin, Platelets, Absolute
neutrophil count… each with the panel's name in ``summary["panel"]``), or, more rarely, as
one entry coded with the panel's LOINC. A result answers a panel task when it is the panel's
own entry, or when the analytes collected together (same organization, same collection
time) include every analyte the task needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal.patients.models import RegistryEntry


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@dataclass(frozen=True)
class Analyte:
    key: str
    name: str  # as a clinician reads it, lowercase in a sentence
    codes: frozenset[str]
    aliases: frozenset[str]  # lowercase names, words only

    def matches(self, *, code: str, title: str) -> bool:
        """An entry is this analyte by its LOINC code, or by its name when it has no code."""
        code = code.strip().upper()
        if code:
            return code in self.codes
        return _words(title) in self.aliases


def _analyte(key: str, name: str, codes: str, aliases: str) -> Analyte:
    return Analyte(key, name, frozenset(codes.split()), frozenset(a.strip() for a in aliases.split(",")))


ANALYTES: dict[str, Analyte] = {
    a.key: a
    for a in [
        # Blood count
        _analyte(
            "wbc", "white blood cells", "6690-2 26464-8", "wbc, white blood cells, white blood cell count, leukocytes"
        ),
        _analyte("hgb", "hemoglobin", "718-7 30313-1", "hemoglobin, haemoglobin, hgb, hb"),
        _analyte("plt", "platelets", "777-3 26515-7", "platelets, platelet count, plt"),
        _analyte("hct", "hematocrit", "4544-3 20570-8", "hematocrit, hct"),
        _analyte(
            "neutrophils",
            "absolute neutrophil count",
            "751-8 26499-4",
            "absolute neutrophil count, anc, neutrophils, neutrophil count",
        ),
        _analyte(
            "lymphocytes",
            "absolute lymphocyte count",
            "731-0 26474-7",
            "absolute lymphocyte count, alc, lymphocytes, lymphocyte count",
        ),
        _analyte("monocytes", "monocytes", "742-7 26484-6", "monocytes, monocyte count"),
        _analyte("eosinophils", "eosinophils", "711-2 26449-9", "eosinophils, eosinophil count"),
        _analyte("basophils", "basophils", "704-7 26444-0", "basophils, basophil count"),
        # Metabolic panels
        _analyte("sodium", "sodium", "2951-2 2947-0", "sodium, na"),
        _analyte("potassium", "potassium", "2823-3 6298-4", "potassium, k"),
        _analyte("chloride", "chloride", "2075-0 2069-3", "chloride, cl"),
        _analyte("co2", "carbon dioxide", "2028-9 1963-8", "carbon dioxide, co2, bicarbonate, total co2"),
        _analyte("bun", "urea nitrogen", "3094-0 6299-2", "urea nitrogen, bun, blood urea nitrogen"),
        _analyte("creatinine", "creatinine", "2160-0 38483-4", "creatinine"),
        _analyte("glucose", "glucose", "2345-7 2339-0", "glucose"),
        _analyte("calcium", "calcium", "17861-6", "calcium"),
        _analyte("albumin", "albumin", "1751-7", "albumin"),
        _analyte("protein", "total protein", "2885-2", "total protein, protein"),
        _analyte("alp", "alkaline phosphatase", "6768-6", "alkaline phosphatase, alp"),
        _analyte("alt", "ALT", "1742-6", "alt, alanine aminotransferase"),
        _analyte("ast", "AST", "1920-8", "ast, aspartate aminotransferase"),
        _analyte("bilirubin", "total bilirubin", "1975-2", "total bilirubin, bilirubin"),
        _analyte("direct_bilirubin", "direct bilirubin", "1968-7", "direct bilirubin"),
        # Lipids
        _analyte("cholesterol", "total cholesterol", "2093-3", "total cholesterol, cholesterol"),
        _analyte("hdl", "HDL cholesterol", "2085-9", "hdl, hdl cholesterol"),
        _analyte("ldl", "LDL cholesterol", "13457-7 2089-1", "ldl, ldl cholesterol"),
        _analyte("triglycerides", "triglycerides", "2571-8", "triglycerides"),
    ]
}

DIFFERENTIAL = ("neutrophils", "lymphocytes", "monocytes", "eosinophils", "basophils")
# The words by which a task names a component of the differential ("call if ANC < 1000").
DIFFERENTIAL_WORDS: dict[str, tuple[str, ...]] = {
    "neutrophils": ("anc", "neutrophil", "neutrophils"),
    "lymphocytes": ("alc", "lymphocyte", "lymphocytes"),
    "monocytes": ("monocyte", "monocytes"),
    "eosinophils": ("eosinophil", "eosinophils"),
    "basophils": ("basophil", "basophils"),
}


@dataclass(frozen=True)
class Panel:
    name: str
    codes: frozenset[str]  # the panel's own LOINC codes
    aliases: frozenset[str]  # names it goes by, lowercase
    required: tuple[str, ...]  # analytes every result of the panel must carry
    optional: tuple[str, ...] = ()  # analytes of the panel a task may ask for (the differential)

    @property
    def analytes(self) -> tuple[str, ...]:
        return self.required + self.optional


BMP = ("sodium", "potassium", "chloride", "co2", "bun", "creatinine", "glucose", "calcium")
PANELS: dict[str, Panel] = {
    p.name: p
    for p in [
        Panel(
            "CBC",
            frozenset({"58410-2", "57021-8", "57782-5"}),
            frozenset({"cbc", "complete blood count", "full blood count", "blood count"}),
            ("wbc", "hgb", "plt"),
            ("hct", *DIFFERENTIAL),
        ),
        Panel("BMP", frozenset({"51990-0", "24321-2"}), frozenset({"bmp", "basic metabolic panel", "chem 7"}), BMP),
        Panel(
            "CMP",
            frozenset({"24323-8"}),
            frozenset({"cmp", "comprehensive metabolic panel", "chem 14"}),
            (*BMP, "albumin", "protein", "alp", "alt", "ast", "bilirubin"),
        ),
        Panel(
            "Lipid panel",
            frozenset({"57698-3", "24331-1"}),
            frozenset({"lipid panel", "lipids", "lipid profile"}),
            ("cholesterol", "hdl", "ldl", "triglycerides"),
        ),
        Panel(
            "Hepatic function panel",
            frozenset({"24325-3"}),
            frozenset({"hepatic function panel", "liver panel", "lft"}),
            ("albumin", "protein", "alp", "alt", "ast", "bilirubin", "direct_bilirubin"),
        ),
    ]
}


def panel_for(*, code: str = "", title: str = "") -> Panel | None:
    """The panel a task asks for: by the panel's LOINC code, or a title naming it ("CBC with
    differential" asks for a CBC)."""
    code = code.strip().upper()
    words = _words(title)
    for panel in PANELS.values():
        if code and code in panel.codes:
            return panel
    for panel in PANELS.values():
        if any(re.search(rf"\b{re.escape(alias)}\b", words) for alias in panel.aliases):
            return panel
    return None


def analytes_asked(*, code: str = "", title: str = "", instructions: str = "") -> list[str]:
    """What a task's result must carry, from what the task says: a panel's required analytes
    and each component of the differential the title or instructions name ("call if ANC <
    1000" names the neutrophils). "With differential" naming no component asks for the
    neutrophil count, the one acted on after chemotherapy. A single analyte's task asks for
    that analyte; anything else asks for nothing more than its code or title."""
    panel = panel_for(code=code, title=title)
    if panel is None:
        for analyte in ANALYTES.values():
            if analyte.matches(code=code, title="" if code.strip() else title):
                return [analyte.key]
        return []
    wanted = list(panel.required)
    if "neutrophils" in panel.optional:
        words = set(_words(f"{title} {instructions}").split())
        named = [key for key in DIFFERENTIAL if words & set(DIFFERENTIAL_WORDS[key])]
        if not named and ({"differential", "diff"} & words):
            named = ["neutrophils"]
        wanted += named
    return wanted


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Requirement:
    """What a result must be to answer a task."""

    kind: str
    panel: Panel | None
    analytes: tuple[Analyte, ...]
    code: str = ""
    title: str = ""

    def describe(self) -> str:
        """e.g. "a CBC with white blood cells, hemoglobin, platelets and absolute neutrophil count"."""
        names = _join([a.name for a in self.analytes])
        if self.panel is not None:
            return f"a {self.panel.name} with {names}" if names else f"a {self.panel.name}"
        if self.analytes:
            return f"a {names} result"
        if self.code:
            return f"a result coded {self.code}"
        if self.title:
            return f"a “{self.title}” result"
        return "a result"

    def relevant(self, entry: RegistryEntry) -> bool:
        """The entry is (part of) a result of the test asked for."""
        if entry.kind != self.kind:
            return False
        code, title = entry.code or "", entry.title or ""
        if self.panel is not None:
            if code.strip().upper() in self.panel.codes:
                return True
            members = {*self.panel.analytes, *(a.key for a in self.analytes)}
            return any(ANALYTES[key].matches(code=code, title=title) for key in members)
        if self.analytes:
            return any(a.matches(code=code, title=title) for a in self.analytes)
        if self.code:
            return code.strip().upper() == self.code.strip().upper()
        if self.title:
            return _words(title) == _words(self.title)
        return True

    def missing(self, entries: Iterable[Any]) -> list[Analyte]:
        """What a result collected together lacks (nothing when one entry is the panel itself)."""
        entries = list(entries)
        if self.panel is not None and any((e.code or "").strip().upper() in self.panel.codes for e in entries):
            return []
        return [a for a in self.analytes if not any(a.matches(code=e.code or "", title=e.title or "") for e in entries)]


def requirement_for(*, kind: str, code: str = "", title: str = "", analytes: Iterable[str] = ()) -> Requirement:
    panel = panel_for(code=code, title=title) if kind == "lab_result" else None
    keys = [key for key in analytes if key in ANALYTES]
    return Requirement(
        kind=kind,
        panel=panel,
        analytes=tuple(ANALYTES[key] for key in keys),
        code=code.strip().upper(),
        title=title.strip(),
    )


def describe_analytes(keys: Iterable[str]) -> str:
    return _join([ANALYTES[key].name for key in keys if key in ANALYTES])
