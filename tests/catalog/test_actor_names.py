"""Who acted, by name: ``auth.service.people`` (an account's display name, in one query) and
``catalog.service.actor_names`` (people and agencies, as the console pages name them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from taydo.auth.service import create_user, people
from taydo.catalog.service import actor_names
from taydo.core.db import Database


def _people(database: Database) -> None:
    create_user(database, "nva", "operator", full_name="Nguyễn Văn An")
    create_user(database, "tts", "operator")  # no full name: known by the username
    create_user(database, "SXD", "viewer", full_name="Trần Thị Sáu")  # a username like a code


def test_people_names_accounts_in_one_query(loaded: Database) -> None:
    _people(loaded)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(loaded.engine, "before_cursor_execute", count)
    try:
        with loaded.session() as session:
            names = people(session, ["nva", "tts", "nobody", "nva", ""])
    finally:
        event.remove(loaded.engine, "before_cursor_execute", count)
    assert names == {"nva": "Nguyễn Văn An", "tts": "tts"}
    assert len([s for s in statements if "users" in s]) == 1, statements
    with loaded.session() as session:
        assert people(session, []) == {}
        many = people(session, [f"user-{i}" for i in range(1200)] + ["nva"])
    assert many == {"nva": "Nguyễn Văn An"}


def test_actor_names_people_and_agencies(loaded: Database) -> None:
    _people(loaded)
    names = actor_names(
        loaded,
        [
            "nva",
            "user:tts",
            "agency:CATP",
            "CATP",  # a bare agency code (an alert's assignee)
            "SXD",  # an account first: the username wins over the agency code
            "agency:SXD",
            "agency:NOPE",
            "user:nobody",
            "system",
            "citizen",
            None,
            "",
        ],
    )
    assert names == {
        "nva": ("Nguyễn Văn An", "Nguyễn Văn An"),
        "user:tts": ("tts", "tts"),
        "agency:CATP": ("Công an thành phố Cần Thơ", "Cần Thơ City Police"),
        "CATP": ("Công an thành phố Cần Thơ", "Cần Thơ City Police"),
        "SXD": ("Trần Thị Sáu", "Trần Thị Sáu"),
        "agency:SXD": (
            "Sở Xây dựng thành phố Cần Thơ",
            "Cần Thơ Department of Construction (incl. transport)",
        ),
    }
    assert actor_names(loaded, []) == {}
