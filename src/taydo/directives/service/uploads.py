"""Adding and reading the files of a directive: the leader's attachments and each agency's
evidence. The bytes go to the ``FileStore`` first, then the row; a refused or failed row
removes the bytes again, so the folder holds only files the database knows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Forbidden, NotFound
from taydo.directives.models import Assignment, Directive, DirectiveFile
from taydo.directives.service.common import ACTIVE, file_dict, load_directive, may_see
from taydo.directives.service.files import FileStore, clean_name, put

__all__ = ["add_file", "open_file"]


def add_file(
    database: Database,
    store: FileStore,
    principal: Principal,
    directive_id: int,
    *,
    data: bytes,
    name: str | None,
    agency_code: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """Store one file: evidence of ``agency_code``'s part (its officers), or without an
    agency an attachment of the directive (``directives:issue``, checked by the caller)."""
    store.check_size(len(data))  # before anything else: no work for an oversized body
    with database.session() as session:  # who may, before writing a byte to disk
        directive, assignments = load_directive(session, principal, directive_id)
        _check(principal, directive, assignments, agency_code)
    stored = put(store, directive_id, data)
    try:
        with database.session() as session:
            directive, assignments = load_directive(session, principal, directive_id, lock=True)
            assignment = _check(principal, directive, assignments, agency_code)
            row = DirectiveFile(
                directive_id=directive.id,
                assignment_id=assignment.id if assignment else None,
                name=clean_name(name, stored.stored.rsplit(".", 1)[-1]),
                media_type=stored.media_type,
                size=stored.size,
                sha256=stored.sha256,
                stored=stored.stored,
                uploaded_by=principal.username,
                uploaded_at=clock.now(),
            )
            session.add(row)
            session.flush()
            journal.record(
                session,
                actor=principal.username,
                action="directive.file",
                object_type="directive",
                object_id=str(directive.id),
                summary={
                    "file": row.id,
                    "name": row.name,
                    "agency": agency_code,
                    "media_type": row.media_type,
                    "size": row.size,
                    "sha256": row.sha256,
                },
                address=address,
            )
            return file_dict(row, agency_code)
    except BaseException:
        store.remove(stored.stored)
        raise


def _check(
    principal: Principal,
    directive: Directive,
    assignments: list[Assignment],
    agency_code: str | None,
) -> Assignment | None:
    if directive.status != "open":
        raise Conflict(f"chỉ đạo đã {directive.status} / the directive is {directive.status}")
    if agency_code is None:
        if not principal.has("directives:issue"):
            raise Forbidden("chỉ lãnh đạo đính kèm tài liệu / only a leader attaches documents")
        return None
    assignment = next((a for a in assignments if a.agency_code == agency_code), None)
    if assignment is None:
        raise NotFound(f"cơ quan {agency_code} không được giao / {agency_code} is not assigned")
    if not principal.has("directives:act") or not principal.may_write_agency(agency_code):
        raise Forbidden(
            f"chỉ cán bộ của {agency_code} mới nộp minh chứng / only {agency_code}'s officers "
            "add its evidence"
        )
    if assignment.status not in ACTIVE:
        raise Conflict(
            f"phần việc đã {assignment.status} / the assignment is {assignment.status}",
            status=assignment.status,
        )
    return assignment


def open_file(
    database: Database, store: FileStore, principal: Principal, file_id: int
) -> tuple[dict[str, Any], Any]:
    """(the file's facts, its path on disk) for those who may see its directive."""
    missing = NotFound(f"không có tệp / no file {file_id}")
    with database.session() as session:
        row = session.get(DirectiveFile, file_id)
        if row is None:
            raise missing
        assignments = list(
            session.scalars(select(Assignment).where(Assignment.directive_id == row.directive_id))
        )
        agency = next((a.agency_code for a in assignments if a.id == row.assignment_id), None)
        # An officer reads the leader's attachments and their own agencies' evidence only.
        if not may_see(principal, assignments) or (
            agency is not None and not principal.may_see_agency(agency)
        ):
            raise missing
        facts = file_dict(row, agency)
        stored = row.stored
    path = store.path(stored)
    if not path.is_file():
        raise NotFound(f"tệp không còn trên đĩa / file {file_id} is missing from disk")
    return facts, path
