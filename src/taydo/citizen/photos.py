"""Photos sent with citizen reports, through the product's one upload module
(``taydo.core.files``): images only (judged by their content, never by their name), bounded in
size, written again from their pixels as a JPEG (no EXIF, no GPS position, no camera serial
survives), kept on disk under ``citizen_photos_dir`` (``YYYY/MM/<random>.jpg``), never in the
database. What is citizen-specific here: every photo becomes a JPEG of at most ``MAX_SIDE``
pixels a side, and a refusal is a 4xx in the Open311 shape (422, the spec's 400)."""

from __future__ import annotations

from pathlib import Path

from taydo.core import clock
from taydo.core.errors import Invalid
from taydo.core.files import IMAGES, FileStore, Prepared, TooLarge, Unsupported, prepare

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_SIDE",
    "PhotoTooLarge",
    "clean_photo",
    "photo_path",
    "remove",
    "store",
]

ALLOWED_FORMATS = IMAGES
MAX_SIDE = 2560  # what is stored: plenty to see the problem, far less disk per report
PhotoTooLarge = TooLarge  # 413


def _refuse() -> Invalid:
    return Invalid(
        "Tệp gửi kèm không phải ảnh hợp lệ (JPEG, PNG, WebP, GIF) / "
        "the attachment is not a valid image (JPEG, PNG, WebP, GIF)"
    )


def clean_photo(data: bytes, *, max_bytes: int) -> bytes:
    """The photo as a JPEG without any metadata; ``Invalid`` (422) for what is not an image of
    an allowed format, ``PhotoTooLarge`` (413) beyond ``max_bytes`` or too many pixels."""
    if not data:
        raise _refuse()
    try:
        return prepare(data, accept=IMAGES, max_bytes=max_bytes, to="JPEG", max_side=MAX_SIDE).data
    except Unsupported as exc:
        raise _refuse() from exc


def _store(folder: Path) -> FileStore:
    return FileStore(folder, max_bytes=1 << 62)  # the limit was applied by clean_photo


def photo_path(folder: Path, name: str) -> Path:
    """The file of a stored photo; ``name`` comes from the database, never from a client."""
    return _store(folder).path(name)


def store(folder: Path, jpeg: bytes) -> str:
    """Write a cleaned photo under ``folder/YYYY/MM/``; returns its name relative to
    ``folder``. Durable and renamed into place, so a crash never leaves half a photo."""
    return (
        _store(folder)
        .put(clock.now().strftime("%Y/%m"), Prepared(jpeg, "image/jpeg", "jpg"))
        .stored
    )


def remove(folder: Path, name: str) -> None:
    """Delete a stored photo (its report was not saved after all)."""
    _store(folder).remove(name)
