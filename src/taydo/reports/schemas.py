"""API shapes of the reports domain: a scheduled report job as a client sends it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from croniter import CroniterError, croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from taydo.core.inputs import INPUT_CONFIG

__all__ = ["JobIn", "check_cron"]

_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


def _occurs(cron: str) -> bool:
    """Whether the schedule names any time at all (``0 7 31 2 *`` — 31 February — never)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        croniter(cron, start).get_next(datetime)
        croniter(cron, start).get_prev(datetime)
    except CroniterError:
        return False
    return True


def check_cron(value: str) -> str:
    """Five cron fields (minute hour day-of-month month day-of-week), read in the display
    time zone; seconds and the non-standard sixth field are refused."""
    cleaned = " ".join(value.split())
    if len(cleaned.split(" ")) != 5 or not croniter.is_valid(cleaned) or not _occurs(cleaned):
        raise ValueError(
            "lịch không hợp lệ: cần 5 trường cron, ví dụ '0 7 * * *' (7 giờ mỗi ngày) / "
            "a schedule is 5 cron fields, e.g. '0 7 * * *' (07:00 every day)"
        )
    return cleaned


class JobIn(BaseModel):
    """A report generated on a schedule and emailed (through an email channel's SMTP
    settings) to ``recipients``."""

    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid")

    code: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    kind: Literal["daily", "monthly"]
    format: Literal["pdf", "xlsx"] = "pdf"
    cron: str = Field(min_length=9, max_length=120, examples=["0 7 * * *"])
    agency: str | None = Field(None, min_length=1, max_length=40)
    recipients: list[str] = Field(min_length=1, max_length=50)
    channel: str = Field(min_length=1, max_length=80, description="an email channel's code")
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        for address in value:
            if len(address) > 254 or not _EMAIL.match(address):
                raise ValueError(f"địa chỉ email không hợp lệ / not an email address: {address!r}")
        return value
