"""Text as people meant it. One function, ``text_clean``, that every form and every API
input serializer applies to text before a field checks it (``portal.forms``,
``portal.api.serializers``), and that services apply to the text they require.

- Characters that steer the direction of the text around them (the bidi embeddings,
  overrides and isolates, U+202A–U+202E and U+2066–U+2069) are removed wherever they stand:
  they can make displayed text say something else than what is stored ("Trojan Source").
- Control characters other than tab and line breaks (NUL, which PostgreSQL refuses, among
  them) are removed.
- Text made only of invisible characters — spaces, zero-width spaces and joiners
  (U+200B–U+200D), the word joiner (U+2060), the byte-order mark (U+FEFF), the soft hyphen,
  direction marks, Hangul fillers, the braille blank and every other format character — is
  empty text, so a required field refuses it. Otherwise such characters are stripped from
  both ends, as spaces are; inside the text they stay (a zero-width joiner holds an emoji
  sequence together, a zero-width non-joiner shapes Persian words).

Accents, other scripts and emoji are kept as they are."""

from __future__ import annotations

BIDI_CONTROLS = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])

# Every character that prints nothing: white space, the format characters (Unicode category
# Cf) but those that print a sign before a number (U+0600–U+0605, U+06DD, U+070F, U+0890,
# U+0891, U+08E2, U+110BD, U+110CD), and the letters and symbols that print as nothing
# (U+034F, U+115F, U+1160, U+17B4, U+17B5, U+2800, U+3164, U+FFA0). Written out so a process
# does not walk a million code points at start-up; a test derives it again from unicodedata.
INVISIBLE_RANGES = [
    (0x0009, 0x000D), (0x001C, 0x0020), (0x0085, 0x0085), (0x00A0, 0x00A0), (0x00AD, 0x00AD),
    (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x1680, 0x1680), (0x17B4, 0x17B5),
    (0x180E, 0x180E), (0x2000, 0x200F), (0x2028, 0x202F), (0x205F, 0x2064), (0x2066, 0x206F),
    (0x2800, 0x2800), (0x3000, 0x3000), (0x3164, 0x3164), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0),
    (0xFFF9, 0xFFFB), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
]  # fmt: skip
INVISIBLE = frozenset(code for first, last in INVISIBLE_RANGES for code in range(first, last + 1))
# Emoji tag characters end a flag sequence (🏴 + tags): never stripped from an end.
_TAGS = frozenset(range(0xE0000, 0xE0080))
_STRIPPED_AT_ENDS = "".join(chr(code) for code in sorted(INVISIBLE - _TAGS))
_REMOVED = {code: None for code in BIDI_CONTROLS} | {
    code: None for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in "\t\n\r"
}


def text_is_blank(value: str) -> bool:
    """Whether the text shows nothing at all."""
    return all(ord(char) in INVISIBLE or ord(char) in BIDI_CONTROLS for char in value)


def text_clean(value: str) -> str:
    """The text without direction controls and control characters, stripped of invisible
    characters at both ends; "" when nothing visible is left."""
    value = value.translate(_REMOVED)
    if text_is_blank(value):
        return ""
    return value.strip(_STRIPPED_AT_ENDS)
