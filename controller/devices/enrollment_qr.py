"""The QR code of a one-time enrollment code, drawn on the server as SVG (no script, no CDN).

The installer scans it with the phone that will type (or paste) the code on the Pi.  The
QR carries only the code.  It is drawn with ``segno`` (pure Python); where that package is
not installed yet, pages show the code as text only, which is always shown anyway.
"""

from __future__ import annotations

import io
import logging

log = logging.getLogger(__name__)


def qr_svg(text: str) -> str:
    """An inline ``<svg>`` of ``text`` as a QR code, or "" when no QR library is installed."""
    try:
        import segno
    except ImportError:
        log.info("segno is not installed; the enrollment code is shown as text only")
        return ""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False, svgns=True,
                                     title="Mã đăng ký", dark="#000", light="#fff")
    return out.getvalue().decode("utf-8")
