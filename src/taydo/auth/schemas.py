"""API shapes of the auth domain. None of them carries a password or a password hash; only
``TokenCreated`` carries a token, once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from taydo.core.inputs import INPUT_CONFIG

__all__ = [
    "AuditEntryOut",
    "AuditPageOut",
    "AuditVerifyOut",
    "DisplayIn",
    "DisplayOut",
    "LoginIn",
    "LoginOut",
    "MeOut",
    "PairingOut",
    "PasswordChangeIn",
    "PasswordSetIn",
    "Printable",
    "TokenCreated",
    "TokenIn",
    "TokenOut",
    "UserIn",
    "UserOut",
    "UserPatch",
]


def _printable(value: str) -> str:
    # Control characters have no place in names, and PostgreSQL refuses NUL in text.
    if not value.isprintable():
        raise ValueError("control characters are not allowed")
    return value


Printable = Annotated[str, AfterValidator(_printable)]


class LoginIn(BaseModel):
    model_config = INPUT_CONFIG
    username: Printable = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1024)


class MeOut(BaseModel):
    username: str
    role: str
    agencies: list[str]
    via: str = Field(description="session or token")
    permissions: list[str]


class LoginOut(MeOut):
    csrf_token: str = Field(description="Send as X-CSRF-Token on state-changing requests.")
    expires_at: datetime


class PasswordChangeIn(BaseModel):
    model_config = INPUT_CONFIG
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordSetIn(BaseModel):
    model_config = INPUT_CONFIG
    password: str = Field(min_length=1, max_length=1024)


class UserIn(BaseModel):
    model_config = INPUT_CONFIG
    username: Printable = Field(min_length=1, max_length=80)
    role: Printable
    agencies: list[Printable] = Field(default_factory=list)
    full_name: Printable = Field("", max_length=200)
    password: str | None = Field(
        None, max_length=1024, description="Omit for a machine account that only uses tokens."
    )


class UserPatch(BaseModel):
    model_config = INPUT_CONFIG
    role: Printable | None = None
    agencies: list[Printable] | None = None
    disabled: bool | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: str
    agencies: list[str]
    disabled: bool
    demo_password: bool
    created_at: datetime


class TokenIn(BaseModel):
    model_config = INPUT_CONFIG
    username: Printable = Field(description="The account the token acts for.")
    name: Printable = Field(
        min_length=1, max_length=120, description="What uses it, e.g. a gateway."
    )
    role: Printable | None = Field(None, description="Default: the account's role.")
    agencies: list[Printable] | None = Field(None, description="Default: the account's agencies.")
    expires_in_days: float | None = Field(None, gt=0, le=3660)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="First characters of the token, to recognise it.")
    username: str
    role: str
    agencies: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


class TokenCreated(TokenOut):
    token: str = Field(description="The token. Shown this once; only its hash is stored.")


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    summary: dict[str, Any]
    address: str | None
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_offset: int | None


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    broken_at: int | None
    reason: str | None


class DisplayIn(BaseModel):
    model_config = INPUT_CONFIG
    username: Printable = Field(
        min_length=1, max_length=80, description="The screen's account name, e.g. wall-1."
    )
    label: Printable = Field("", max_length=200, description="Where it hangs.")


class PairingOut(BaseModel):
    username: str
    code: str = Field(description="The pairing code. Shown this once; only its hash is stored.")
    pair_url: str = Field(description="Open this once on the screen to pair it.")
    expires_at: datetime = Field(description="The code must be used before this.")


class DisplayOut(BaseModel):
    username: str
    label: str
    revoked: bool
    created_at: datetime
    sessions: int = Field(description="Screens paired and still logged in.")
    paired_at: datetime | None
    code_expires_at: datetime | None = Field(description="A code waiting to be used, if any.")
