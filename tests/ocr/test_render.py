"""ocr.render: a scan with another program's invisible OCR text is not a text layer."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

from ocr import render
from tests import badfiles


def _scan_pdf(invisible_text: str | None, mode: int = 3) -> bytes:
    """A scanned page (img2pdf), optionally with text laid over it in render ``mode``
    (3 = invisible, as scanner apps and OCRmyPDF write their OCR)."""
    import img2pdf

    pdf = img2pdf.convert([badfiles.jpeg(1240, 1754, text="ATTESTATION")])
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    if invisible_text:
        from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

        page = writer.pages[0]
        original = page.get_contents().get_data()
        font = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject("/Helvetica"),
                }
            )
        )
        page["/Resources"][NameObject("/Font")] = DictionaryObject({NameObject("/F1"): font})
        stream = DecodedStreamObject()
        stream.set_data(
            original + f"\nBT {mode} Tr /F1 12 Tf 72 700 Td ({invisible_text}) Tj ET\n".encode()
        )
        page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _first(data: bytes):
    doc = render.open_pdf(data)
    return doc, doc[0]


def test_invisible_ocr_over_a_scan_is_not_a_text_layer():
    doc, page = _first(_scan_pdf("INE 0100OO8010J"))
    assert "0100OO8010J" in render.page_text(page)
    assert render.text_is_ocr_overlay(page)
    doc.close()


def test_visible_text_and_plain_scans():
    doc, page = _first(_scan_pdf("Tampon visible", mode=0))
    assert not render.text_is_ocr_overlay(page)
    doc.close()
    doc, page = _first(_scan_pdf(None))
    assert not render.text_is_ocr_overlay(page) and render.page_text(page).strip() == ""
    doc.close()
    doc, page = _first(badfiles.pdf())
    assert not render.text_is_ocr_overlay(page)
    doc.close()


def test_prepared_document_ignores_the_overlay(tmp_path):
    from intake.prepare import open_document

    path = tmp_path / "scan.pdf"
    path.write_bytes(_scan_pdf("INE 0100OO8010J"))
    doc = open_document(str(path), "application/pdf", "bac")
    assert doc.pages[0].text == ""
    assert not doc.has_text_layer
    doc.close()
