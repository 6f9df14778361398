"""Photos sent with citizen reports: images only (judged by their content, never by their name),
bounded in size, and re-encoded so that no metadata (EXIF, GPS position, camera serials,
comments) survives; kept on disk under ``citizen_photos_dir``, never in the database.

Pillow decodes the whole picture before it is written again: what is stored is a fresh JPEG
made from pixels, so a hostile file (a polyglot, a script in a comment, a decompression bomb)
either fails to decode (refused with a 4xx) or comes out as plain pixels.
"""

from __future__ import annotations

import io
import os
import uuid
import warnings
from pathlib import Path
from struct import error as struct_error

from PIL import Image, ImageOps, UnidentifiedImageError

from taydo.core import clock
from taydo.core.errors import Invalid, TaydoError

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_PIXELS",
    "PhotoTooLarge",
    "clean_photo",
    "photo_path",
    "remove",
    "store",
]

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo; more is refused before decoding
MAX_SIDE = 2560  # what is stored: plenty to see the problem, far less disk per report


class PhotoTooLarge(TaydoError):
    status_code = 413


def _refuse() -> Invalid:
    return Invalid(
        "Tệp gửi kèm không phải ảnh hợp lệ (JPEG, PNG, WebP, GIF) / "
        "the attachment is not a valid image (JPEG, PNG, WebP, GIF)"
    )


def clean_photo(data: bytes, *, max_bytes: int) -> bytes:
    """The photo as a JPEG without any metadata; ``Invalid`` (422) for what is not an image of
    an allowed format, ``PhotoTooLarge`` (413) beyond ``max_bytes`` or ``MAX_PIXELS``."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(
            f"Ảnh quá lớn / the photo is too large: {len(data)} bytes, at most {max_bytes}"
        )
    if not data:
        raise _refuse()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise _refuse()
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise PhotoTooLarge("Ảnh quá nhiều điểm ảnh / the photo has too many pixels")
                probe.verify()  # structure and checksums, without decoding the pixels
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)  # keep the photo upright, then drop EXIF
                if upright.mode not in ("RGB", "L"):
                    background = Image.new("RGB", upright.size, (255, 255, 255))
                    rgba = upright.convert("RGBA")
                    background.paste(rgba, mask=rgba.getchannel("A"))
                    upright = background
                upright.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                # A new image from pixels: no exif=, no icc_profile=, no comment: nothing but
                # the picture is written.
                upright.save(out, format="JPEG", quality=85, optimize=True)
                return out.getvalue()
    except TaydoError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        EOFError,
        ZeroDivisionError,
        struct_error,
        MemoryError,
    ) as exc:
        raise _refuse() from exc


def photo_path(folder: Path, name: str) -> Path:
    """The file of a stored photo; ``name`` comes from the database, never from a client."""
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents:
        raise Invalid("tên ảnh không hợp lệ / bad photo name")
    return path


def store(folder: Path, jpeg: bytes) -> str:
    """Write a cleaned photo under ``folder/YYYY/MM/``; returns its name relative to ``folder``.
    Written to a temporary file and renamed, so a crash never leaves half a photo."""
    month = clock.now().strftime("%Y/%m")
    name = f"{month}/{uuid.uuid4().hex}.jpg"
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(jpeg)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return name


def remove(folder: Path, name: str) -> None:
    """Delete a stored photo (its report was not saved after all)."""
    photo_path(folder, name).unlink(missing_ok=True)
