"""NGSI-LD errors as ProblemDetails (RFC 7807), with the error types of ETSI GS CIM 009."""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_BASE", "NgsiError", "problem"]

ERROR_BASE = "https://uri.etsi.org/ngsi-ld/errors/"

# kind: (HTTP status, Vietnamese title, English title)
KINDS: dict[str, tuple[int, str, str]] = {
    "InvalidRequest": (400, "Yêu cầu không hợp lệ", "Invalid request"),
    "BadRequestData": (400, "Dữ liệu không hợp lệ", "Bad request data"),
    "AlreadyExists": (409, "Thực thể đã tồn tại", "Already exists"),
    "OperationNotSupported": (422, "Thao tác không được hỗ trợ", "Operation not supported"),
    "ResourceNotFound": (404, "Không tìm thấy", "Resource not found"),
    "InternalError": (500, "Lỗi nội bộ", "Internal error"),
    "TooComplexQuery": (403, "Truy vấn quá phức tạp", "Too complex query"),
    "TooManyResults": (403, "Quá nhiều kết quả", "Too many results"),
    "LdContextNotAvailable": (503, "Không có @context", "LD context not available"),
}


class NgsiError(Exception):
    """An error answered as ProblemDetails; ``status`` overrides the kind's usual one."""

    def __init__(self, kind: str, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        if kind not in KINDS:
            raise ValueError(f"unknown NGSI-LD error kind {kind!r}")
        self.kind = kind
        self.detail = detail
        self.status = status or KINDS[kind][0]

    def body(self) -> dict[str, Any]:
        return problem(self.kind, self.detail, self.status)


def problem(kind: str, detail: str, status: int | None = None) -> dict[str, Any]:
    code, title_vi, title_en = KINDS[kind]
    return {
        "type": ERROR_BASE + kind,
        "title": f"{title_vi} / {title_en}",
        "status": status or code,
        "detail": detail,
    }
