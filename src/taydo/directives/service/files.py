"""Attachments and evidence: checked by content (images and PDF only), limited in size,
stored on disk under the configured folder (never in the database), read back only for
those allowed to see the directive they belong to."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from taydo.core.errors import Invalid, TaydoError

__all__ = [
    "ACCEPTED_TYPES",
    "FileStore",
    "StoredFile",
    "TooLarge",
    "UnsupportedType",
    "clean_name",
    "sniff",
]

# Pillow format → (media type, extension). Only formats a phone camera or a scanner makes.
_IMAGE_TYPES = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
ACCEPTED_TYPES = (*(t for t, _ in _IMAGE_TYPES.values()), "application/pdf")
# A decompression bomb (a small file that decodes to gigapixels) is refused, not decoded.
_MAX_PIXELS = 64_000_000


class TooLarge(TaydoError):
    status_code = 413


class UnsupportedType(TaydoError):
    status_code = 415


@dataclass(frozen=True)
class StoredFile:
    stored: str  # path relative to the store's root
    media_type: str
    size: int
    sha256: str


def _pdf(data: bytes) -> bool:
    """A PDF starts with its header and ends with an end-of-file marker (the last 1 KiB)."""
    return re.match(rb"%PDF-[12]\.\d", data[:16]) is not None and b"%%EOF" in data[-1024:]


def sniff(data: bytes) -> tuple[str, str]:
    """(media type, extension) found from the bytes; raises UnsupportedType otherwise.

    The name and the type the client claims are ignored: a script renamed ``photo.jpg`` is
    refused, and what is served back carries the type found here."""
    if _pdf(data):
        return "application/pdf", "pdf"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                if kind not in _IMAGE_TYPES:
                    raise UnsupportedType(
                        f"định dạng ảnh {kind} không được nhận / image format {kind} not accepted",
                        accepted=list(ACCEPTED_TYPES),
                    )
                if image.width * image.height > _MAX_PIXELS:
                    raise UnsupportedType("ảnh quá lớn / image has too many pixels")
                image.verify()  # a truncated or corrupt file fails here
    except UnsupportedType:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Warning,
        Image.DecompressionBombError,
    ):
        raise UnsupportedType(
            "chỉ nhận ảnh (JPEG, PNG, WebP) hoặc PDF / only images (JPEG, PNG, WebP) or PDF",
            accepted=list(ACCEPTED_TYPES),
        ) from None
    return _IMAGE_TYPES[kind]


def clean_name(name: str | None, extension: str) -> str:
    """A display name without paths or control characters, ending with the real extension."""
    base = Path((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if ch.isprintable())
    stem = base.rsplit(".", 1)[0].strip()[:150] or "tep"
    return f"{stem}.{extension}"


class FileStore:
    """Files on disk under ``root``: ``<directive id>/<random>.<ext>``, written once."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise TooLarge(
                f"tệp vượt quá {self.max_bytes} byte / file is larger than {self.max_bytes} bytes",
                limit=self.max_bytes,
            )
        if size == 0:
            raise Invalid("tệp rỗng / the file is empty")

    def put(self, directive_id: int, data: bytes) -> StoredFile:
        self.check_size(len(data))
        media_type, extension = sniff(data)
        relative = f"{directive_id}/{secrets.token_hex(16)}.{extension}"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: a crash never leaves half a file under a stored name.
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(data)
        partial.replace(path)
        return StoredFile(relative, media_type, len(data), hashlib.sha256(data).hexdigest())

    def path(self, stored: str) -> Path:
        path = (self.root / stored).resolve()
        if self.root.resolve() not in path.parents:
            raise Invalid("đường dẫn tệp không hợp lệ / bad stored path")
        return path

    def remove(self, stored: str) -> None:
        self.path(stored).unlink(missing_ok=True)
