"""Normalizing names for the master patient index."""

from __future__ import annotations

import re
import unicodedata


def normalize_name(given: str, family: str) -> str:
    """``"José  O'Neil-Ávila"`` → ``"jose oneilavila"``: case, accents and punctuation removed."""

    def clean(part: str) -> str:
        decomposed = unicodedata.normalize("NFKD", part)
        ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return re.sub(r"[^a-z ]", "", ascii_only.lower()).strip()

    return re.sub(r"\s+", " ", f"{clean(given)} {clean(family)}").strip()
