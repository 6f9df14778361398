"""Attachments and evidence of directives, through the product's one upload module
(``taydo.core.files``): images (JPEG, PNG, WebP; written again without any metadata) and PDF,
judged by content, limited in size, stored on disk under ``directives_files_dir`` as
``<directive id>/<random>.<ext>`` (never in the database), read back only for those allowed to
see the directive they belong to (``uploads.open_file``)."""

from __future__ import annotations

from taydo.core import files
from taydo.core.files import DOCUMENTS, FileStore, StoredFile, TooLarge, clean_name
from taydo.core.files import Unsupported as UnsupportedType

__all__ = [
    "ACCEPTED_TYPES",
    "FileStore",
    "StoredFile",
    "TooLarge",
    "UnsupportedType",
    "clean_name",
    "put",
    "sniff",
]

ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


def sniff(data: bytes) -> tuple[str, str]:
    """(media type, extension) of a directive file from its bytes; ``UnsupportedType``."""
    return files.sniff(data, DOCUMENTS)


def put(store: FileStore, directive_id: int, data: bytes) -> StoredFile:
    """Check, clean and store one file of a directive."""
    prepared = files.prepare(data, accept=DOCUMENTS, max_bytes=store.max_bytes)
    return store.put(str(directive_id), prepared)
