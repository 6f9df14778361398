"""Files attached to an incident (a photo from the field, a scanned report), through the
product's one upload module (``taydo.core.files``): images (written again without metadata)
and PDF, judged by content, limited in size, stored on disk under ``incidents_files_dir`` as
``<incident id>/<random>.<ext>``. Each file is a note of the incident (so the internal-notes
rule applies to it unchanged) and an ``incident.file`` entry of the timeline: who attached
what, when. A file is read back only by those who may read its incident (agency scope), and an
internal one only by those who may read internal notes; to anyone else it does not exist (404).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.core.files import DOCUMENTS, FileStore, clean_name, prepare
from taydo.incidents.models import IncidentNote
from taydo.incidents.service.common import (
    event_of,
    iso,
    load,
    may_read_internal,
    may_write,
    record,
)

__all__ = ["ACCEPTED_TYPES", "add_file", "file_url", "open_file"]

ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")
Changed = tuple[dict[str, Any], dict[str, Any]]


def file_url(incident_id: int, note_id: int) -> str:
    return f"/api/v1/incidents/{incident_id}/files/{note_id}"


def _may_attach(
    database: Database, principal: Principal | None, incident_id: int, internal: bool
) -> None:
    with database.session() as session:
        incident = load(session, principal, incident_id)
        if not may_write(principal, incident):
            raise NotFound(f"không có sự cố / no incident {incident_id}")
        if internal and not may_read_internal(principal, incident):
            raise Invalid(
                "chỉ cơ quan chủ trì và cán bộ vận hành ghi chú nội bộ / internal notes are "
                "for the responsible agency and IOC operators"
            )


def add_file(
    database: Database,
    store: FileStore,
    principal: Principal | None,
    incident_id: int,
    *,
    data: bytes,
    name: str | None,
    body: str = "",
    internal: bool = False,
    address: str | None = None,
) -> Changed:
    """Check who may, then the file (size, kind by content, metadata gone), store it, then
    its note and journal entry in one transaction; a failed row removes the bytes again.
    Returns (the file's facts, the ``incidents.changed`` event)."""
    store.check_size(len(data))
    _may_attach(database, principal, incident_id, internal)  # before a byte reaches the disk
    prepared = prepare(data, accept=DOCUMENTS, max_bytes=store.max_bytes)
    stored = store.put(str(incident_id), prepared)
    try:
        with database.session() as session:
            incident = load(session, principal, incident_id)
            if not may_write(principal, incident) or (
                internal and not may_read_internal(principal, incident)
            ):
                raise NotFound(f"không có sự cố / no incident {incident_id}")
            actor = journal.actor_of(principal)
            note = IncidentNote(
                incident_id=incident.id,
                at=clock.now(),
                author=actor,
                internal=internal,
                body=body.strip()[:10_000],
                attachment_name=clean_name(name, prepared.extension),
                file_stored=stored.stored,
                file_media_type=stored.media_type,
                file_size=stored.size,
                file_sha256=stored.sha256,
            )
            session.add(note)
            session.flush()
            note.attachment_url = file_url(incident.id, note.id)
            incident.updated_at = clock.now()
            incident.revision += 1
            # As for every note: the journal keeps the id and the file's facts; the timeline
            # hides an internal one from those who may not read it.
            record(
                session,
                actor,
                incident,
                "file",
                {
                    "note_id": note.id,
                    "internal": internal,
                    "name": note.attachment_name,
                    "media_type": stored.media_type,
                    "size": stored.size,
                    "sha256": stored.sha256,
                },
                address,
            )
            facts = {
                "id": note.id,
                "incident_id": incident.id,
                "name": note.attachment_name,
                "media_type": stored.media_type,
                "size": stored.size,
                "sha256": stored.sha256,
                "internal": internal,
                "by": actor,
                "at": iso(note.at),
                "url": note.attachment_url,
            }
            return facts, event_of(session, incident)
    except BaseException:
        store.remove(stored.stored)
        raise


def open_file(
    database: Database,
    store: FileStore,
    principal: Principal | None,
    incident_id: int,
    note_id: int,
) -> tuple[dict[str, Any], Path]:
    """(the file's facts, its path on disk) for those who may read it; 404 for the others."""
    missing = NotFound(f"không có tệp / no file {note_id}")
    with database.session() as session:
        incident = load(session, principal, incident_id)  # agency scope: 404 alike
        note = session.get(IncidentNote, note_id)
        if note is None or note.incident_id != incident.id or note.file_stored is None:
            raise missing
        if note.internal and not may_read_internal(principal, incident):
            raise missing
        facts = {
            "id": note.id,
            "name": note.attachment_name,
            "media_type": note.file_media_type,
            "size": note.file_size,
            "sha256": note.file_sha256,
        }
        stored = note.file_stored
    path = store.path(stored)
    if not path.is_file():
        raise NotFound(f"tệp không còn trên đĩa / file {note_id} is missing from disk")
    return facts, path
