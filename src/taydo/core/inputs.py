"""What a request body or parameter must be, exactly as the OpenAPI says.

Pydantic's lax mode turned ``"lat": false`` into 0.0, ``"1.5"`` into a number and ``0.5`` into
a time (seconds since 1970): input the schema calls invalid was accepted and stored. Input
models take ``INPUT_CONFIG`` (strict types: a number is a JSON number, a flag a JSON boolean)
and times are ``Moment``: ISO 8601 text with a UTC offset, nothing else.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, TypeAdapter

__all__ = ["INPUT_CONFIG", "Moment", "parse_moment"]

INPUT_CONFIG = ConfigDict(strict=True, allow_inf_nan=False)
"""The config of every model a client sends (merge it into the model's own)."""

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_LAX_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def parse_moment(value: Any) -> datetime:
    """An aware ``datetime`` from ISO 8601 text such as ``2026-10-01T08:30:00+07:00``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and _ISO.match(value.strip()):
        moment = _LAX_DATETIME.validate_python(value.strip())
    else:
        raise ValueError("a time is ISO 8601 text, e.g. 2026-10-01T08:30:00+07:00")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time needs its UTC offset, e.g. +07:00 or Z")
    return moment


Moment = Annotated[datetime, BeforeValidator(parse_moment)]
"""A point in time a client sends: ISO 8601 text with an offset (JSON schema: date-time)."""
