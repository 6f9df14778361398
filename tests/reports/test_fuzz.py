"""Property tests of what reports parse from clients: cron schedules and report dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import croniter
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from taydo.reports.schemas import check_cron
from taydo.reports.service import slot_at

from .conftest import TZ

FIELD = st.one_of(
    st.just("*"),
    st.integers(0, 23).map(str),
    st.tuples(st.integers(0, 11), st.integers(12, 23)).map(lambda t: f"{t[0]}-{t[1]}"),
    st.integers(1, 12).map(lambda n: f"*/{n}"),
)
CRON = st.tuples(
    st.integers(0, 59).map(str), FIELD, st.sampled_from(["*", "1", "15", "28"]), st.just("*"),
    st.sampled_from(["*", "1-5", "0", "6"]),
).map(" ".join)  # fmt: skip
MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


@given(st.one_of(st.text(max_size=60), CRON), MOMENT)
@example("@daily", datetime(2026, 1, 1, tzinfo=UTC))
@example("0 7 * * * *", datetime(2026, 1, 1, tzinfo=UTC))
@example("0 7 31 2 *", datetime(2026, 1, 1, tzinfo=UTC))  # 31 February: never
@example("0 7 29 2 *", datetime(2026, 3, 1, tzinfo=UTC))  # leap days only
def test_any_text_is_a_schedule_or_a_clear_refusal(text: str, moment: datetime) -> None:
    try:
        cleaned = check_cron(text)
    except ValueError:
        return  # pydantic turns it into a 422 with this reason
    assert len(cleaned.split(" ")) == 5
    assert slot_at(cleaned, TZ, moment) <= moment  # an accepted schedule always has a slot


@given(CRON, MOMENT)
def test_the_slot_is_the_newest_time_at_or_before_the_moment(cron: str, moment: datetime) -> None:
    slot = slot_at(cron, TZ, moment)
    assert slot <= moment
    following = croniter(cron, slot.astimezone(TZ)).get_next(datetime)
    assert following > moment  # no slot of the cron falls between the slot and the moment
    assert slot_at(cron, TZ, slot) == slot  # a moment exactly on a slot is that slot


def test_a_refused_cron_is_a_validation_error() -> None:
    from taydo.reports.schemas import JobIn

    try:
        JobIn.model_validate(
            {"code": "x", "kind": "daily", "cron": "not a cron at all", "recipients": ["a@b.vn"],
             "channel": "mail"}
        )  # fmt: skip
    except ValidationError as exc:
        assert "5 cron fields" in str(exc)
    else:
        raise AssertionError("accepted")


def test_slot_in_the_display_time_zone() -> None:
    # 07:00 in Hồ Chí Minh City is 00:00 UTC
    moment = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    assert slot_at("0 7 * * *", TZ, moment) == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert slot_at("0 7 * * *", TZ, moment - timedelta(hours=1)) == datetime(
        2026, 11, 19, 0, 0, tzinfo=UTC
    )
