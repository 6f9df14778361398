"""PDF uploads (taydo.core.files.clean_pdf through prepare): the pages survive, the metadata
does not (document information, XMP with GPS, annotations with authors); encrypted, damaged
and oversized PDFs are refused with a clear error, whatever bytes follow ``%PDF-``."""

from __future__ import annotations

import io
import logging

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from taydo.core.errors import Invalid
from taydo.core.files import DOCUMENTS, PDF, TooLarge, Unsupported, clean_pdf, prepare
from tests.core.pdfs import SECRETS, page_texts, pdf_with_metadata

MAX = 4 << 20


@pytest.fixture(autouse=True)
def _quiet_pypdf() -> None:
    # pypdf logs every repair it tries on a damaged file: noise, not failures.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)


def test_the_input_carries_the_metadata_for_real() -> None:
    """Guards the test below: the sample holds every secret, where a reader finds it."""
    data = pdf_with_metadata()
    assert all(secret in data for secret in SECRETS)
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.author == "Nguyen Van Author"
    assert reader.xmp_metadata is not None
    assert "/Metadata" in reader.pages[0] and "/Annots" in reader.pages[0]


def test_a_stored_pdf_keeps_its_pages_and_loses_every_metadata() -> None:
    data = pdf_with_metadata(("Bien ban so 1", "Anh hien truong", "Ket luan"))
    ready = prepare(data, accept=DOCUMENTS, max_bytes=MAX)
    assert ready.media_type == PDF and ready.extension == "pdf"
    assert [s for s in SECRETS if s in ready.data] == []
    assert b"pypdf" not in ready.data  # nor a producer of ours
    reader = PdfReader(io.BytesIO(ready.data))
    assert reader.metadata is None and reader.xmp_metadata is None
    assert set(reader.trailer["/Root"].keys()) == {"/Type", "/Pages"}
    assert all("/Metadata" not in p and "/Annots" not in p for p in reader.pages)
    assert page_texts(ready.data) == ["Bien ban so 1", "Anh hien truong", "Ket luan"]
    # Cleaning again changes nothing that matters: a cleaned file is stable.
    assert page_texts(clean_pdf(ready.data)) == page_texts(ready.data)


def _encrypted(user: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt(user, "owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("user_password", ["mat-khau", ""])
def test_an_encrypted_pdf_is_refused(user_password: str) -> None:
    """Even one that opens without a password: it could not be rewritten faithfully."""
    with pytest.raises(Unsupported) as refused:
        prepare(_encrypted(user_password), accept=DOCUMENTS, max_bytes=MAX)
    assert refused.value.status_code == 415
    assert "encrypted PDF" in str(refused.value) and "mã hóa" in str(refused.value)


def _pages(count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(10, 10)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_too_many_pages_is_refused_as_too_large() -> None:
    assert len(PdfReader(io.BytesIO(clean_pdf(_pages(5), max_pages=5))).pages) == 5
    with pytest.raises(TooLarge) as refused:
        clean_pdf(_pages(6), max_pages=5)
    assert refused.value.status_code == 413


GOOD = pdf_with_metadata()
DAMAGED = [
    GOOD[: len(GOOD) // 2] + b"\n%%EOF\n",  # truncated, an end marker added back
    GOOD[:200] + b"\n%%EOF\n",
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",  # no catalog, no pages
    # A declared object count of a billion, a page tree that counts a billion pages.
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 999999999/Kids[2 0 R]>>endobj\n"
    b"xref\n0 999999999\ntrailer<</Size 999999999/Root 1 0 R>>\nstartxref\n9\n%%EOF\n",
    # A cross-reference stream claiming a hundred million entries, holding none.
    b"%PDF-1.5\n1 0 obj<</Type/XRef/Size 100000000/Index[0 100000000]/W[1 4 2]/Root 2 0 R"
    b"/Length 8/Filter/FlateDecode>>stream\nx\x9c\x03\x00\x00\x00\x00\x01\nendstream endobj\n"
    b"startxref\n9\n%%EOF\n",
    # A page tree that contains itself.
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 1/Kids[2 0 R 3 0 R]>>endobj\n"
    b"3 0 obj<</Type/Pages/Kids[2 0 R]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
]


@pytest.mark.parametrize("data", DAMAGED, ids=[f"damaged-{i}" for i in range(len(DAMAGED))])
def test_a_damaged_pdf_is_refused_clearly(data: bytes) -> None:
    with pytest.raises(Unsupported) as refused:
        prepare(data, accept=DOCUMENTS, max_bytes=MAX)
    assert refused.value.status_code == 415
    assert "PDF" in str(refused.value)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(["1.4", "1.7", "2.0"]))
@example(b"\x00" * 10, "1.4")
@example(GOOD[9:], "1.3")
def test_random_bytes_after_the_header_are_refused_or_cleaned(body: bytes, version: str) -> None:
    data = f"%PDF-{version}\n".encode() + body + b"\n%%EOF\n"
    try:
        ready = prepare(data, accept=DOCUMENTS, max_bytes=MAX)
    except (Unsupported, TooLarge, Invalid):
        return
    assert ready.media_type == PDF
    assert [s for s in SECRETS if s in ready.data] == []
    assert len(PdfReader(io.BytesIO(ready.data)).pages) >= 1


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_a_real_pdf_cut_or_flipped_anywhere_is_refused_or_cleaned(data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=9, max_value=len(GOOD)))
    flip = data.draw(st.integers(min_value=9, max_value=len(GOOD) - 1))
    mangled = bytearray(GOOD[:cut] + b"\n%%EOF\n")
    if flip < len(mangled):
        mangled[flip] ^= 0xFF
    try:
        ready = prepare(bytes(mangled), accept=DOCUMENTS, max_bytes=MAX)
    except (Unsupported, TooLarge, Invalid):
        return
    assert [s for s in SECRETS if s in ready.data] == []
