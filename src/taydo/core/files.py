"""Uploaded files, the one way for the whole product: citizen photos, directive attachments and
evidence, incident attachments.

What a file is comes from its bytes, never from its name or the type the client claims
(``sniff``). Every file has a size limit (``TooLarge``, 413) and only the kinds a caller
accepts pass (``Unsupported``, 415). An image is decoded and written again from its pixels
(``clean_image``): no EXIF (GPS position, camera serials), no ICC profile, no comment, no
trailing bytes survive, and a hostile file (a polyglot, a decompression bomb) either fails to
decode or comes out as plain pixels. A PDF is read and its pages written into a new document
(``clean_pdf``): no document information (author, producer, dates), no XMP packet (where a
scanner or a phone app puts GPS), no annotations, scripts or attached files travel; an
encrypted, malformed or oversized PDF is refused. It is served as an attachment only.

Files live on disk under a configured folder (``FileStore``), under random names chosen here,
written aside then renamed (a crash never leaves half a file under a stored name), never in the
database. The database row of the owning record keeps the stored name; a file is served only
by a route that first checks that the caller may see that record (``serve``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error
from typing import Literal

from fastapi import UploadFile
from fastapi.responses import FileResponse
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from taydo.core.errors import Invalid, TaydoError

__all__ = [
    "DOCUMENTS",
    "IMAGES",
    "MAX_PDF_PAGES",
    "MAX_PIXELS",
    "PDF",
    "FileStore",
    "Prepared",
    "StoredFile",
    "TooLarge",
    "Unsupported",
    "clean_image",
    "clean_name",
    "clean_pdf",
    "prepare",
    "read_upload",
    "serve",
    "sniff",
]

# Pillow format → (media type, extension): only formats a phone camera or a scanner makes.
_IMAGE_TYPES: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
_FORMAT_OF = {media: fmt for fmt, (media, _ext) in _IMAGE_TYPES.items()}
PDF = "application/pdf"
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
# What an agency sends as evidence or a leader attaches: photos and scanned documents.
DOCUMENTS = frozenset({"image/jpeg", "image/png", "image/webp", PDF})
# A picture of more pixels is refused before its pixels are decoded (a decompression bomb is a
# small file that decodes to gigapixels).
MAX_PIXELS = 40_000_000
# A scanned report has tens of pages; thousands are a mistake or an attack on the server's time.
MAX_PDF_PAGES = 1_000
# Keys that carry who, where and with what a PDF was made, or what it does when opened, on
# any dictionary of a copied page: XMP packets (/Metadata, also on images), application
# private data (/PieceInfo), annotations (author names, pop-up notes, attached files, links
# that run actions) and the page's own actions (/AA).
_PDF_DROPPED_KEYS = ("/Metadata", "/PieceInfo", "/Annots", "/AA", "/LastModified")
_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", "image/gif": "GIF"}

# Everything a broken or hostile image can make Pillow raise while it is read.
_DECODE_ERRORS = (
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
)


class TooLarge(TaydoError):
    status_code = 413


class Unsupported(TaydoError):
    status_code = 415


def _accepted_text(accept: Collection[str]) -> str:
    images = ", ".join(_NAMES[m] for m in sorted(accept) if m in _NAMES)
    if PDF in accept:
        return f"ảnh ({images}) hoặc PDF / images ({images}) or PDF"
    return f"ảnh ({images}) / images ({images})"


def _refuse(accept: Collection[str]) -> Unsupported:
    vietnamese, english = _accepted_text(accept).split(" / ")
    return Unsupported(f"chỉ nhận {vietnamese} / only {english}", accepted=sorted(accept))


def _is_pdf(data: bytes) -> bool:
    """A PDF starts with its header and ends with an end-of-file marker (the last 1 KiB)."""
    return re.match(rb"%PDF-[12]\.\d", data[:16]) is not None and b"%%EOF" in data[-1024:]


def _open_checked(data: bytes, max_pixels: int) -> str:
    """The Pillow format of ``data`` after a structural check, without decoding the pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            width, height = probe.size
            if width * height > max_pixels:
                raise TooLarge(
                    "ảnh quá nhiều điểm ảnh / the image has too many pixels",
                    limit=max_pixels,
                )
            probe.verify()  # structure and checksums: a truncated or corrupt file fails here
            return kind


def sniff(
    data: bytes, accept: Collection[str] = DOCUMENTS, *, max_pixels: int = MAX_PIXELS
) -> tuple[str, str]:
    """(media type, extension) found from the bytes; ``Unsupported`` (415) when the bytes are
    not one of the ``accept``ed media types, ``TooLarge`` (413) for too many pixels.

    The name and the type the client claims are ignored: a script renamed ``photo.jpg`` is
    refused, and what is served back carries the type found here."""
    if PDF in accept and _is_pdf(data):
        return PDF, "pdf"
    if not data:
        raise _refuse(accept)
    try:
        kind = _open_checked(data, max_pixels)
    except TaydoError:
        raise
    except _DECODE_ERRORS:
        raise _refuse(accept) from None
    found = _IMAGE_TYPES.get(kind)
    if found is None or found[0] not in accept:
        raise Unsupported(
            f"định dạng {kind or '?'} không được nhận / format {kind or '?'} not accepted; "
            f"{_accepted_text(accept)}",
            accepted=sorted(accept),
        )
    return found


def _pixels(image: Image.Image, *, alpha: bool) -> Image.Image:
    """A new image made from the pixels only: no ``info`` (EXIF, ICC, text chunks, comments)
    travels, whatever a format's writer would otherwise copy from the source."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha and alpha:
        mode = "RGBA"
    elif image.mode in ("L", "1") and not has_alpha:
        mode = "L"
    else:
        mode = "RGB"
    if has_alpha and mode == "RGB":  # flattened on white, as paper would show it
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        converted = flat
    else:
        converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def clean_image(
    data: bytes,
    *,
    to: Literal["same", "JPEG"] = "same",
    max_side: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> tuple[bytes, str, str]:
    """The image written again from its pixels, upright, without any metadata: (bytes, media
    type, extension). ``to="JPEG"`` makes every picture a JPEG; ``max_side`` shrinks it.
    Raises ``Unsupported`` for what does not decode, ``TooLarge`` for too many pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            kind = _open_checked(data, max_pixels)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image) or image  # upright, then EXIF is gone
                target = "JPEG" if to == "JPEG" or kind not in _IMAGE_TYPES else kind
                if target == "GIF":
                    target = "PNG"  # a still of the first frame, losslessly
                fresh = _pixels(upright, alpha=target in ("PNG", "WEBP"))
                if max_side is not None:
                    fresh.thumbnail((max_side, max_side))
                out = io.BytesIO()
                # No exif=, icc_profile=, pnginfo= nor comment: nothing but the picture.
                if target == "JPEG":
                    fresh.save(out, format="JPEG", quality=85 if max_side else 90, optimize=True)
                elif target == "PNG":
                    fresh.save(out, format="PNG", optimize=True)
                else:
                    fresh.save(out, format="WEBP", quality=90)
                media_type, extension = _IMAGE_TYPES[target]
                return out.getvalue(), media_type, extension
    except TaydoError:
        raise
    except _DECODE_ERRORS as exc:
        raise _refuse(_FORMAT_OF) from exc


@dataclass(frozen=True)
class Prepared:
    """A checked upload ready to store: cleaned bytes and what they are."""

    data: bytes
    media_type: str
    extension: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise TooLarge(
            f"tệp vượt quá {max_bytes} byte / file is larger than {max_bytes} bytes",
            limit=max_bytes,
        )
    if size == 0:
        raise Invalid("tệp rỗng / the file is empty")


def _strip_pdf_object(root: PdfObject) -> None:
    """Remove ``_PDF_DROPPED_KEYS`` from every dictionary reachable from ``root`` (iterative:
    a deeply nested or cyclic object graph neither recurses nor loops)."""
    seen: set[int] = set()
    stack: list[PdfObject] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            resolved = item.get_object()
            if resolved is None:  # a reference to an object the file does not hold
                continue
            item = resolved
        if isinstance(item, DictionaryObject):  # stream objects too (their dictionary)
            for key in _PDF_DROPPED_KEYS:
                item.pop(key, None)
            stack.extend(value for key, value in item.items() if key != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def clean_pdf(data: bytes, *, max_pages: int = MAX_PDF_PAGES) -> bytes:
    """The pages of a PDF in a new document without metadata: no /Info dictionary (author,
    creator, producer, dates), no XMP packet, no annotations, actions, scripts, forms,
    outlines or attached files (the new document's catalog names its pages and nothing else).

    Raises ``Unsupported`` (415) for an encrypted PDF or one that cannot be read, and
    ``TooLarge`` (413) beyond ``max_pages`` pages."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception:  # a hostile file can make the parser raise anything
        raise _bad_pdf() from None
    if encrypted:
        raise Unsupported(
            "không nhận PDF có mật khẩu hoặc mã hóa / encrypted PDF not accepted",
            accepted=[PDF],
        )
    try:
        count = len(reader.pages)
        if count > max_pages:
            raise TooLarge(
                f"PDF quá {max_pages} trang / the PDF has more than {max_pages} pages",
                limit=max_pages,
            )
        if count == 0:
            raise _bad_pdf()
        writer = PdfWriter()
        for page in reader.pages:
            # Stripped on the read page (pypdf keeps the objects it resolved), then copied:
            # the writer writes every object it copied, referenced or not.
            _strip_pdf_object(page)
            writer.add_page(page)
        writer.metadata = None  # pypdf would otherwise name itself as the producer
        out = io.BytesIO()
        writer.write(out)
    except TaydoError:
        raise
    except Exception:  # as above
        raise _bad_pdf() from None
    return out.getvalue()


def _bad_pdf() -> Unsupported:
    return Unsupported(
        "tệp PDF bị hỏng hoặc không đọc được / the PDF is damaged or cannot be read",
        accepted=[PDF],
    )


def prepare(
    data: bytes,
    *,
    accept: Collection[str],
    max_bytes: int,
    to: Literal["same", "JPEG"] = "same",
    max_side: int | None = None,
) -> Prepared:
    """Size, kind by content, then images and PDFs cleaned of every metadata: what may be
    stored."""
    check_size(len(data), max_bytes)
    media_type, extension = sniff(data, accept)
    if media_type == PDF:
        return Prepared(clean_pdf(data), media_type, extension)
    cleaned, media_type, extension = clean_image(data, to=to, max_side=max_side)
    return Prepared(cleaned, media_type, extension)


@dataclass(frozen=True)
class StoredFile:
    stored: str  # path relative to the store's root: the only thing the database keeps
    media_type: str
    size: int
    sha256: str


def clean_name(name: str | None, extension: str) -> str:
    """A display name without paths or control characters, ending with the real extension."""
    base = Path((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if ch.isprintable())
    stem = base.rsplit(".", 1)[0].strip()[:150] or "tep"
    return f"{stem}.{extension}"


_FOLDER = re.compile(r"^[A-Za-z0-9_-]{1,40}(/[A-Za-z0-9_-]{1,40}){0,3}$")


class FileStore:
    """Files on disk under ``root``: ``<folder>/<random>.<ext>``, written once, read by the
    stored name the database keeps (never a name from a client)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def check_size(self, size: int) -> None:
        check_size(size, self.max_bytes)

    def put(self, folder: str, prepared: Prepared) -> StoredFile:
        """Write ``prepared`` under ``folder`` (a few plain path parts: ``"12"``,
        ``"2026/12"``) with a random name; durable (fsync) before it is named."""
        if not _FOLDER.match(folder):
            raise ValueError(f"bad store folder {folder!r}")
        relative = f"{folder}/{secrets.token_hex(16)}.{prepared.extension}"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        with open(partial, "wb") as handle:
            handle.write(prepared.data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        return StoredFile(relative, prepared.media_type, prepared.size, prepared.sha256)

    def path(self, stored: str) -> Path:
        """The file of a stored name; never outside the root."""
        path = (self.root / stored).resolve()
        if self.root.resolve() not in path.parents:
            raise Invalid("đường dẫn tệp không hợp lệ / bad stored path")
        return path

    def remove(self, stored: str) -> None:
        """Delete a stored file (its row was not saved after all)."""
        self.path(stored).unlink(missing_ok=True)


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """The uploaded bytes, refused (413) as soon as they pass ``max_bytes``: an oversized
    body is never held whole in memory."""
    data = bytearray()
    while chunk := await upload.read(1 << 20):
        data += chunk
        if len(data) > max_bytes:
            check_size(len(data), max_bytes)
    return bytes(data)


def serve(
    path: Path,
    media_type: str,
    *,
    name: str | None = None,
    inline: bool = False,
    cache: str = "private, no-store",
) -> FileResponse:
    """The response for a stored file whose owner the caller may see (checked before): the
    type found when it was stored, never sniffed again by the browser. Only images are ever
    shown inline; anything else is a download."""
    inline = inline and media_type in IMAGES
    return FileResponse(
        path,
        media_type=media_type,
        filename=name,
        content_disposition_type="inline" if inline else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": cache,
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
