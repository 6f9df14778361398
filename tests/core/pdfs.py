"""Real PDFs made in the tests with pypdf, carrying what a scanner or a phone app writes: the
document information (author, producer, dates), an XMP packet with a GPS position (on the
document and on a page), an annotation with its author, and some text on each page."""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)

__all__ = ["SECRETS", "XMP", "page_texts", "pdf_with_metadata"]

XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'exif:GPSLatitude="10,2.0763N" exif:GPSLongitude="105,46.3422E">'
    b"<dc:creator><rdf:Seq><rdf:li>Tran Thi Secret</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)
# Every string of these must be gone from a cleaned PDF.
SECRETS = (
    b"GPSLatitude",
    b"105,46.3422E",
    b"Tran Thi Secret",
    b"Nguyen Van Author",
    b"ScanPhone Pro 9",
    b"Camera Maker",
    b"Annot Author",
    b"xmpmeta",
)


def _xmp_stream(writer: PdfWriter) -> object:
    stream = DecodedStreamObject()
    stream.set_data(XMP)
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    return writer._add_object(stream)


def _text_page(writer: PdfWriter, text: str) -> None:
    page = writer.add_blank_page(300, 200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 14 Tf 20 100 Td ({text}) Tj ET".encode("ascii"))
    page[NameObject("/Contents")] = writer._add_object(content)


def pdf_with_metadata(pages: tuple[str, ...] = ("Bien ban hien truong", "Trang hai")) -> bytes:
    """A PDF of ``pages`` (one line of ASCII text each) full of metadata."""
    writer = PdfWriter()
    for text in pages:
        _text_page(writer, text)
    writer.add_metadata(
        {
            "/Author": "Nguyen Van Author",
            "/Producer": "ScanPhone Pro 9",
            "/Creator": "Camera Maker",
            "/CreationDate": "D:20261203020000+07'00'",
        }
    )
    writer._root_object[NameObject("/Metadata")] = _xmp_stream(writer)
    first = writer.pages[0]
    first[NameObject("/Metadata")] = _xmp_stream(writer)
    note = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Text"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 30, 30)]),
            NameObject("/T"): TextStringObject("Annot Author"),
            NameObject("/Contents"): TextStringObject("ghi chu"),
        }
    )
    first[NameObject("/Annots")] = ArrayObject([writer._add_object(note)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_texts(data: bytes) -> list[str]:
    """The text of each page of a PDF, as a reader would extract it."""
    from pypdf import PdfReader

    return [page.extract_text().strip() for page in PdfReader(io.BytesIO(data)).pages]
