"""Units as clinicians write them. The record and the API keep UCUM (``10^3/uL``,
``umol/L``, ``mL/min/{1.73_m2}``, ``Cel``); pages show ``×10³/µL``, ``µmol/L``,
``mL/min/1.73m²``, ``°C`` — through ``unit_display`` alone (the ``unit`` template filter)."""

from __future__ import annotations

import re

# Whole units whose display is not what the general rules below give.
DISPLAY: dict[str, str] = {
    "Cel": "°C",
    "[degF]": "°F",
    "mm[Hg]": "mmHg",
    "mL/min/{1.73_m2}": "mL/min/1.73m²",
    "mL/min/1.73m2": "mL/min/1.73m²",
    "[IU]/L": "IU/L",
    "[iU]/L": "IU/L",
    "m[IU]/L": "mIU/L",
    "u[IU]/mL": "µIU/mL",
    "[in_i]": "in",
    "[lb_av]": "lb",
    "/[HPF]": "/HPF",
    "{ratio}": "ratio",
    "{score}": "",
    "1": "",
}
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# A power of ten: 10^3, 10*3, 10^-3 (a leading factor of a count per volume).
POWER = re.compile(r"10[\^*](-?\d+)")
# The micro prefix before a unit symbol: umol, ug, uL, uU, uIU.
MICRO = re.compile(r"(?<![A-Za-z])u(?=(mol|g|L|l|m|U|IU|eq|kat)\b|(mol|g|L|l|m|U|IU|eq|kat)[/\s]|(mol|g|L|m|U|IU)$)")
SQUARE = re.compile(r"(?<=[A-Za-z])2\b")


def unit_display(unit: object) -> str:
    """``10^3/uL`` → ``×10³/µL``; an unknown unit is shown as written."""
    text = str(unit or "").strip()
    if not text:
        return ""
    if text in DISPLAY:
        return DISPLAY[text]
    text = POWER.sub(lambda m: "×10" + m.group(1).translate(SUPERSCRIPT), text)
    text = MICRO.sub("µ", text)
    text = SQUARE.sub("²", text)  # m2, kg/m2 → m², kg/m²
    text = re.sub(r"\{([^}]*)\}", r"\1", text)  # UCUM annotations: {cells}/uL → cells/µL
    return text.replace("[", "").replace("]", "")
