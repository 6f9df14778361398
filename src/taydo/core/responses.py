"""The app's JSON response: orjson renders datetimes and large lists quickly and writes
Vietnamese text as is (no \\u escapes); NaN and Infinity become null instead of a 500."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

__all__ = ["FastJSONResponse"]


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
