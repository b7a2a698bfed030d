"""Minimal PDFs written byte by byte, for the tests and ``bench/bad_input_bench.py``.

PDF libraries write well-formed files; the tests need odd ones (no text layer, content streams
that unpack to hundreds of megabytes, one form drawn on every page), so they are written here.
"""

from __future__ import annotations

import zlib


def pdf_document(contents: list[bytes], *, form: bytes | None = None, compress: bool = False) -> bytes:
    """A PDF with one page per content stream, Helvetica as font ``/F1``.

    Args:
        contents: each page's drawing instructions, e.g. ``b"BT /F1 12 Tf 72 720 Td (Text) Tj ET"``.
        form: drawing instructions of a form XObject ``/Fm1`` that every page draws after its own
            content (as letterheads are drawn); stored deflated.
        compress: page contents deflated (``/FlateDecode``), as most PDF writers store them.
    """
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", font]
    resources = b"/Font << /F1 3 0 R >>"
    if form is not None:
        form_entries = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
        objects.append(_stream(form, compress=True, entries=form_entries))
        resources += b" /XObject << /Fm1 4 0 R >>"
    kids = []
    for content in contents:
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << %s >> >>"
            % (len(objects) + 2, resources)
        )
        objects.append(_stream(content + (b" /Fm1 Do" if form is not None else b""), compress=compress))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % kid for kid in kids), len(kids))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, *, compress: bool, entries: bytes = b"") -> bytes:
    """A stream object: its dictionary (``entries``, the length, the filter) and the (deflated) data."""
    if compress:
        data = zlib.compress(data)
    flate = b" /Filter /FlateDecode" if compress else b""
    return b"<< %s/Length %d%s >>\nstream\n" % (entries, len(data), flate) + data + b"\nendstream"
