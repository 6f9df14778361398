"""Due times: a missed deadline marks the incident and its steps overdue and notifies through
the alerts outbox, once; a step about to fall due is announced; the KPI counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from taydo.alerts.models import Outbox
from taydo.core import clock
from taydo.core.errors import Invalid
from taydo.incidents.schemas import IncidentIn, StatusIn
from taydo.incidents.service import (
    change_status,
    check_due,
    create,
    get_incident,
    on_time_counts,
    parse_pack,
)


def _events(database) -> list[tuple[str, str]]:
    with database.session() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        return [(r.event, r.payload["message"]["link"]) for r in rows]


def test_a_missed_deadline_marks_overdue_and_notifies_once(pack, message_route) -> None:
    database = pack
    started = clock.now() - timedelta(minutes=20)
    body = IncidentIn(
        type="tidal-flooding",
        title="Ngập",
        severity="warning",
        agency_code="SXD",
        started_at=started,
    )
    incident, _event = create(database, None, body)
    link = f"/incidents/{incident['id']}"
    assert _events(database) == [("incident.assigned", link)]  # the responsible agency is told

    # 20 min in: "verify" (15 min) is overdue, "forecast" (30 min) and "warn-ward" (45 min) fall
    # due within the next half hour
    changed = check_due(database)
    assert [e["id"] for e in changed] == [incident["id"]]
    steps = {s["code"]: s for s in get_incident(database, None, incident["id"])["steps"]}
    assert steps["verify"]["overdue"] and not steps["forecast"]["overdue"]
    assert ("incident.step_overdue", link) in _events(database)
    assert _events(database).count(("incident.step_due_soon", link)) == 2
    assert not get_incident(database, None, incident["id"])["overdue"]

    assert check_due(database) == []  # nothing new: nobody is told twice
    # past the SLA (12 h for tidal flooding): the incident itself is overdue
    later = clock.now() + timedelta(hours=13)
    check_due(database, later)
    found = get_incident(database, None, incident["id"])
    assert found["overdue"] is True
    assert ("incident.overdue", link) in _events(database)
    assert [e["action"] for e in found["timeline"]].count("incident.overdue") == 1
    check_due(database, later)
    assert _events(database).count(("incident.overdue", link)) == 1

    # a resolved incident is never overdue again
    change_status(database, None, incident["id"], StatusIn(status="resolved"))
    before = len(_events(database))
    check_due(database, later + timedelta(days=3))
    assert len(_events(database)) == before


def test_on_time_counts(pack) -> None:
    database = pack
    day = datetime(2026, 11, 1, tzinfo=UTC)
    late = create(database, None, IncidentIn(type="traffic", title="Tắc đường", started_at=day))[0]
    quick = create(database, None, IncidentIn(type="traffic", title="Va chạm", started_at=day))[0]
    create(database, None, IncidentIn(type="traffic", title="Chưa xong", started_at=day))
    create(
        database,
        None,
        IncidentIn(type="fire", title="Ngoài kỳ", started_at=day + timedelta(days=40)),
    )
    # resolve now: the traffic SLA (4 h) passed long ago for one, the other is changed to be on time
    change_status(database, None, late["id"], StatusIn(status="resolved"))
    change_status(database, None, quick["id"], StatusIn(status="resolved"))
    from taydo.incidents.models import Incident

    with database.session() as session:
        session.get(Incident, quick["id"]).resolved_at = day + timedelta(hours=1)
    with database.session() as session:
        assert on_time_counts(session, start=day, end=day + timedelta(days=1)) == (1, 3)
        assert on_time_counts(session, start=day, end=clock.now() + timedelta(days=1)) == (1, 3)
        assert on_time_counts(
            session, start=day, end=day + timedelta(days=1), agency_code="NOPE"
        ) == (0, 0)


@given(st.text(max_size=300))
def test_the_pack_parser_refuses_any_text_with_a_reason(text: str) -> None:
    try:
        parse_pack(text)
    except Invalid as exc:
        assert exc.message


@given(
    st.dictionaries(
        st.sampled_from(["sops", "sla", "correlation", "other"]),
        st.lists(
            st.dictionaries(
                st.text(max_size=8), st.none() | st.integers() | st.text(max_size=5), max_size=4
            ),
            max_size=3,
        ),
        max_size=4,
    )
)
def test_the_pack_parser_refuses_malformed_definitions(data: dict) -> None:
    import yaml

    try:
        parse_pack(yaml.safe_dump(data))
    except Invalid as exc:
        assert exc.message
