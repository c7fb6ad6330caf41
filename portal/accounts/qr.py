"""QR codes as inline SVG (segno), for enrolling an authenticator app."""

from __future__ import annotations

import io

import segno


def qr_svg(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title="QR code for your authenticator app"
    )
    return buffer.getvalue().decode()
