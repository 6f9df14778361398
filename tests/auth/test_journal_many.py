"""``journal.record_many``: a batch's entries join the one chain exactly as single entries do
(positions without gaps, hashes that verify, interleaved with ``record``), and a rolled-back
batch leaves nothing."""

from __future__ import annotations

import pytest

from taydo.auth import journal
from taydo.core.db import Database


def _entries(count: int) -> list[dict[str, object]]:
    return [
        {
            "actor": f"app:{n % 2}",
            "action": "thing.created",
            "object_type": "thing",
            "object_id": n,
            "summary": {"n": n, "tên": "Cần Thơ"},
            "address": "10.0.0.7" if n % 2 else None,
        }
        for n in range(count)
    ]


def test_a_batch_joins_the_chain_between_single_entries(database: Database) -> None:
    with database.session() as session:
        assert journal.record(session, actor="a", action="x.y", object_type="t", object_id=0) == 1
    with database.session() as session:
        assert journal.record_many(session, _entries(5)) == [2, 3, 4, 5, 6]
        assert journal.record_many(session, []) == []
    with database.session() as session:
        assert journal.record(session, actor="a", action="x.y", object_type="t", object_id=9) == 7
    result = journal.verify(database)
    assert result.ok and result.entries == 7
    assert journal.head(database) == (7, result.head_hash)
    history = journal.timeline(database, "thing", 3)
    assert [(h["actor"], h["summary"]) for h in history] == [("app:1", {"n": 3, "tên": "Cần Thơ"})]


def test_a_rolled_back_batch_leaves_no_entry_and_no_gap(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        journal.record_many(session, _entries(3))
        raise RuntimeError("the batch failed")
    with database.session() as session:
        assert journal.record_many(session, _entries(2)) == [1, 2]
    assert journal.verify(database).ok
