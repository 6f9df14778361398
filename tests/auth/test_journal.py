"""The hash-chained audit journal: appends, tamper detection on both databases, concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from taydo.auth import journal
from taydo.core.db import Database


def _append(database: Database, count: int, actor: str = "alice") -> None:
    for number in range(count):
        with database.session() as session:
            journal.record(
                session,
                actor=actor,
                action="thing.update",
                object_type="thing",
                object_id=number % 3,
                summary={"before": {"n": number}, "after": {"n": number + 1, "tên": "Cần Thơ"}},
                address="10.0.0.7",
            )


def test_an_untouched_chain_verifies(database: Database) -> None:
    assert journal.verify(database).ok
    _append(database, 6)
    result = journal.verify(database)
    assert result.ok and result.entries == 6
    assert journal.head(database) == (6, result.head_hash)


TAMPERING = {
    "actor": "UPDATE audit_journal SET actor = 'mallory' WHERE id = 3",
    "action": "UPDATE audit_journal SET action = 'thing.read' WHERE id = 3",
    "object_id": "UPDATE audit_journal SET object_id = '9' WHERE id = 3",
    "address": "UPDATE audit_journal SET address = NULL WHERE id = 3",
    "summary": """UPDATE audit_journal SET summary = '{"after": {"n": 0}}' WHERE id = 3""",
    "time": "UPDATE audit_journal SET at = at - INTERVAL_ONE_HOUR WHERE id = 3",
    "hash": "UPDATE audit_journal SET hash = prev_hash WHERE id = 3",
    "delete middle": "DELETE FROM audit_journal WHERE id = 3",
    "delete first": "DELETE FROM audit_journal WHERE id = 1",
    "delete last": "DELETE FROM audit_journal WHERE id = 5",
    "delete all": "DELETE FROM audit_journal",
    "renumber": "UPDATE audit_journal SET id = id + 100 WHERE id >= 4",
    "head": "DELETE FROM audit_head",
}


@pytest.mark.parametrize("change", list(TAMPERING))
def test_direct_edits_are_detected(database: Database, change: str, cli) -> None:  # type: ignore[no-untyped-def]
    _append(database, 5)
    one_hour = (
        "INTERVAL '1 hour'"
        if database.dialect == "postgresql"
        else "0"  # placeholder replaced below for SQLite
    )
    statement = TAMPERING[change].replace("INTERVAL_ONE_HOUR", one_hour)
    if database.dialect == "sqlite" and change == "time":
        statement = "UPDATE audit_journal SET at = '2020-01-01 00:00:00.000000' WHERE id = 3"
    with database.engine.begin() as connection:
        connection.execute(text(statement))

    result = journal.verify(database)
    assert not result.ok
    assert result.broken is not None and result.broken.position <= 5

    answer = cli("audit", "verify")
    assert answer.exit_code == 1  # type: ignore[attr-defined]
    assert "broken" in answer.output  # type: ignore[attr-defined]


def test_cli_verify_passes_on_an_intact_chain(database: Database, cli) -> None:  # type: ignore[no-untyped-def]
    _append(database, 3)
    answer = cli("audit", "verify")
    assert answer.exit_code == 0, answer.output  # type: ignore[attr-defined]
    assert "3 entries" in answer.output  # type: ignore[attr-defined]


def test_the_first_broken_link_is_reported(database: Database) -> None:
    _append(database, 8)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_journal SET actor = 'x' WHERE id IN (4, 6)"))
    broken = journal.verify(database).broken
    assert broken is not None and broken.position == 4


def test_a_rolled_back_change_leaves_no_entry_and_no_gap(database: Database) -> None:
    _append(database, 2)
    with pytest.raises(RuntimeError), database.session() as session:
        journal.record(session, actor="a", action="x.y", object_type="t", object_id=1)
        raise RuntimeError("the caller's change failed")
    _append(database, 1)
    result = journal.verify(database)
    assert result.ok and result.entries == 3


def test_concurrent_writers_never_fork_the_chain(database: Database) -> None:
    writers, each = 6, 15
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            _append(database, each, actor=f"writer-{number}")
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    result = journal.verify(database)
    assert result.ok, result.broken
    assert result.entries == writers * each


def test_query_filters_and_pages(database: Database) -> None:
    _append(database, 5, actor="alice")
    _append(database, 2, actor="bob")
    page = journal.query(database, actor="alice", limit=3)
    assert [e["actor"] for e in page.items] == ["alice"] * 3
    assert page.items[0]["id"] > page.items[1]["id"]  # newest first
    assert page.next_offset == 3
    rest = journal.query(database, actor="alice", limit=3, offset=3)
    assert len(rest.items) == 2 and rest.next_offset is None
    assert len(journal.query(database, object_type="thing", object_id="0").items) == 3
    assert len(journal.query(database, action="thing.*").items) == 7
    assert journal.query(database, action="other.*").items == []
    newest = page.items[0]["at"]
    assert len(journal.query(database, until=newest).items) < 7
    assert journal.query(database, since=newest).items != []


def test_timeline_lists_one_objects_history_oldest_first(database: Database) -> None:
    _append(database, 6)
    history = journal.timeline(database, "thing", 1)
    assert [entry["summary"]["before"]["n"] for entry in history] == [1, 4]
    assert history[0]["summary"]["after"]["tên"] == "Cần Thơ"
    assert journal.timeline(database, "thing", "missing") == []
