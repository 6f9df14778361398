"""The app's JSON response: orjson renders datetimes and large lists quickly and writes
Vietnamese text as is (no \\u escapes); NaN and Infinity become null instead of a 500."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

__all__ = ["FastJSONResponse", "answers_as"]


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def answers_as(media_type: str, description: str, status_code: int = 200) -> dict[str, Any]:
    """Route keywords for an answer that is not JSON (a feed, a stream, a workbook), so the
    OpenAPI names its real content type: ``@router.get(path, **answers_as(XLSX, "…"))``."""
    content = {media_type: {"schema": {"type": "string"}}}
    return {
        "response_class": Response,
        "responses": {status_code: {"description": description, "content": content}},
    }
