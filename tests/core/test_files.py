"""The one upload module (taydo.core.files): kind by content, size limit, every metadata gone
from images, files on disk under random names that outlive the process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from taydo.core.errors import Invalid
from taydo.core.files import (
    DOCUMENTS,
    IMAGES,
    FileStore,
    TooLarge,
    Unsupported,
    clean_image,
    prepare,
    sniff,
)
from tests.core.pdfs import page_texts, pdf_with_metadata

GPS_IFD = 0x8825
PDF = pdf_with_metadata()


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # Model
    exif[0x010F] = "Maker"  # Make
    exif[GPS_IFD] = {1: "N", 2: (10.0, 2.0, 3.0), 3: "E", 4: (105.0, 47.0, 1.0)}
    return exif


def picture(fmt: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    """An image of ``fmt`` carrying a GPS position, a camera model (and for PNG a text chunk),
    as phones and editors write them."""
    image = Image.new(mode, size, (200, 30, 30, 128)[: len(mode)] if mode != "L" else 90)
    out = io.BytesIO()
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "Phone X secret")
        image.save(out, format="PNG", exif=_exif().tobytes(), pnginfo=text)
    else:
        image.save(out, format=fmt, exif=_exif().tobytes())
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_inputs_carry_gps_for_real(fmt: str) -> None:
    """Guards the test below: each input does hold a position."""
    with Image.open(io.BytesIO(picture(fmt))) as image:
        assert image.getexif().get_ifd(GPS_IFD)[2] == (10.0, 2.0, 3.0)


@pytest.mark.parametrize(
    "fmt, mode, media_type",
    [
        ("JPEG", "RGB", "image/jpeg"),
        ("PNG", "RGBA", "image/png"),
        ("PNG", "L", "image/png"),
        ("WEBP", "RGB", "image/webp"),
    ],
)
def test_images_keep_their_pixels_and_lose_every_metadata(
    fmt: str, mode: str, media_type: str
) -> None:
    sent = picture(fmt, mode=mode)
    ready = prepare(sent, accept=DOCUMENTS, max_bytes=1 << 20)
    assert ready.media_type == media_type
    with Image.open(io.BytesIO(ready.data)) as image:
        assert image.format == fmt and image.size == (40, 30)
        exif = image.getexif()
        assert not exif.get_ifd(GPS_IFD) and 0x0110 not in exif and 0x010F not in exif
        assert "exif" not in image.info and "Comment" not in image.info
    assert b"Phone X" not in ready.data and b"Maker" not in ready.data


def test_a_photo_for_citizens_becomes_a_small_jpeg() -> None:
    data, media_type, extension = clean_image(picture("PNG", (3000, 1000)), to="JPEG", max_side=600)
    assert (media_type, extension) == ("image/jpeg", "jpg")
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (600, 200)


@pytest.mark.parametrize(
    "data",
    [
        b"<?php echo 1; ?>",  # a script named photo.jpg
        b"MZ\x90\x00" + b"\x00" * 100,  # a program
        b"PK\x03\x04" + b"\x00" * 100,  # an office document (zip)
        b"%PDF-1.7\nno end marker",
        picture("JPEG")[:150],  # a truncated JPEG
        b"",
    ],
)
def test_what_is_not_an_accepted_kind_is_refused_by_content(data: bytes) -> None:
    with pytest.raises((Unsupported, Invalid)):
        prepare(data, accept=DOCUMENTS, max_bytes=1 << 20)


def test_a_pdf_passes_only_where_documents_are_accepted() -> None:
    assert sniff(PDF, DOCUMENTS) == ("application/pdf", "pdf")
    assert page_texts(prepare(PDF, accept=DOCUMENTS, max_bytes=1 << 20).data) == page_texts(PDF)
    with pytest.raises(Unsupported) as refused:
        sniff(PDF, IMAGES)
    assert refused.value.status_code == 415


def test_size_and_pixel_limits() -> None:
    with pytest.raises(TooLarge) as refused:
        prepare(picture("JPEG"), accept=IMAGES, max_bytes=100)
    assert refused.value.status_code == 413
    bomb = io.BytesIO()
    Image.new("L", (9000, 9000)).save(bomb, format="PNG")  # 81 Mpx in a few kB
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(TooLarge):
        prepare(bomb.getvalue(), accept=IMAGES, max_bytes=1 << 20)


def test_stored_files_have_random_names_and_survive_a_new_store(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files", max_bytes=1 << 20)
    ready = prepare(picture("PNG"), accept=DOCUMENTS, max_bytes=store.max_bytes)
    first = store.put("7", ready)
    second = store.put("7", ready)
    assert first.stored != second.stored and first.stored.startswith("7/")
    assert first.stored.endswith(".png") and first.sha256 == second.sha256
    assert not list((tmp_path / "files").rglob("*.part"))
    # A new process: a new store on the same folder reads the same bytes by the stored name.
    again = FileStore(tmp_path / "files", max_bytes=1 << 20)
    assert again.path(first.stored).read_bytes() == ready.data
    for bad in ("../outside.png", "/etc/passwd", "7/../../x"):
        with pytest.raises(Invalid):
            again.path(bad)
    with pytest.raises(ValueError):
        store.put("../up", ready)
    again.remove(first.stored)
    assert not again.path(first.stored).exists() and again.path(second.stored).exists()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2048))
@example(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
@example(b"GIF89a" + b"\xff" * 32)
@example(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\xff" * 17)
@example(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
@example(b"%PDF-1.4 %%EOF")
def test_any_bytes_are_accepted_clean_or_refused_cleanly(data: bytes) -> None:
    try:
        ready = prepare(data, accept=DOCUMENTS, max_bytes=4096)
    except (Unsupported, TooLarge, Invalid):
        return
    assert ready.media_type in DOCUMENTS
    if ready.media_type != "application/pdf":
        with Image.open(io.BytesIO(ready.data)) as image:
            assert not image.getexif()
