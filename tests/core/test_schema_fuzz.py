"""Schema fuzzing: every operation of ``/api/openapi.json``, with an admin token, over real
HTTP, on SQLite and PostgreSQL (issue 18, item 11).

Schemathesis draws requests from the app's own OpenAPI — valid ones, and invalid ones that the
schema says must be refused — and checks each answer: never a 5xx, only documented status
codes and content types, bodies that match the documented schema, invalid input refused
(``"lat": false`` used to be accepted), ``Allow`` headers that match the schema, and a 401
when the credentials are left out.

The draw is fixed (Hypothesis ``derandomize``: it depends only on the test and the schema; the
schema's boundary cases come first), so CI sees the same requests every run. 12 examples per
operation take about two minutes for both databases on a loaded 2-core machine;
``TAYDO_FUZZ_EXAMPLES=60`` (about five and a half minutes) is the longer local hunt, and it
passed too. Requests go to a uvicorn server on a free port, started once per database for the
module. The live stream (``/api/v1/stream``) is left out: it never ends.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from taydo.app import create_app
from taydo.auth.service import create_user, issue_token
from taydo.core.db import Database
from taydo.core.settings import Settings
from tests.conftest import _truncate_postgres
from tests.serving import serve_in_thread

EXAMPLES = int(os.environ.get("TAYDO_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    allow_header_conformance,
    ignored_auth,
]


@dataclass
class Target:
    base_url: str
    database: Database
    user_id: int

    def headers(self) -> dict[str, str]:
        """A fresh admin token per request: the fuzzer may well revoke the last one."""
        _row, token = issue_token(self.database, self.user_id, "fuzz")
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "taydo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_schema_url"))
        _truncate_postgres(database)
    settings_ = Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, observations_pack_after_hours=0, _env_file=None
    )
    user = create_user(database, f"fuzz-admin-{uuid.uuid4().hex[:6]}", "admin")
    app = create_app(settings_, database=database)
    try:
        with serve_in_thread(app, log_level="critical") as base_url:
            yield Target(base_url, database, user.id)
    finally:
        database.dispose()


def _load_schema() -> schemathesis.BaseSchema:
    """The app's OpenAPI, read from an app built on no database (building connects to none)."""
    app = create_app(
        Settings(database_url="sqlite://", dev=True, _env_file=None)  # type: ignore[call-arg]
    )
    return schemathesis.openapi.from_dict(app.openapi())


schema = _load_schema()
# The live streams never end: a request to one would wait out its timeout every time. Their
# parameters and scoping are tested over real SSE (tests/alerts/test_stream_cap.py, and the
# domains' own stream tests, e.g. tests/directives/test_stream.py).
STREAMS = r"^/api/v1/(.+/)?stream$"


@schema.exclude(path_regex=STREAMS).parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate(
        base_url=target.base_url, headers=target.headers(), checks=CHECKS, timeout=30
    )


def test_the_fuzz_reaches_every_operation() -> None:
    """The parametrized test above covers what the schema lists; this guards the schema
    itself from shrinking to nothing (a router dropped from the app)."""
    assert len(list(schema.exclude(path_regex=STREAMS).get_all_operations())) >= 80
