"""The official Open311 GeoReport v2 swagger (``/work/shared/fixtures/open311/swagger.json``,
from open311/schema-validation) fuzzed with schemathesis against this server's ``/open311/v2``,
over real HTTP, on SQLite and PostgreSQL (issue 13's Must hold).

Two runs: the swagger exactly as published, and the same with its ``response_format`` path
parameter narrowed to the two formats the spec defines (``json``, ``xml``): the published one
lets it be any text, so nearly every drawn request would stop at "unknown format" and the
answers that carry data would hardly be checked.

In the second run, half the posts name an existing service and a place in Cần Thơ, and single
requests are asked for by an existing id, so created reports and the answers that list them
are checked against the swagger's schemas too (random codes and ids only ever find nothing).

Every request carries this server's ``jurisdiction_id`` (the swagger makes it required, the
drawn values are random text, and a foreign one is a 404 by design) and a valid ``api_key``
(the swagger's security definition; without it the public rate limit would answer most posts
with 429, which is tested on its own in test_open311.py).

Checks: no 5xx; documented content types; 200 bodies valid against the swagger's schemas; and
every status one the spec names (200, 400, 401, 403, 404, 413, 429). Schemathesis's
``status_code_conformance`` is left out because the swagger documents only 200 for
``POST requests`` while the spec (and any server) must answer 400 to an unknown
``service_code`` — which is most drawn posts.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from taydo.app import create_app
from taydo.citizen.service import create_key
from taydo.core.db import Database
from taydo.core.settings import Settings
from tests.citizen.conftest import prepare_citizen
from tests.conftest import _truncate_postgres
from tests.serving import serve_in_thread

SWAGGER = Path("/work/shared/fixtures/open311/swagger.json")
EXAMPLES = int(os.environ.get("TAYDO_FUZZ_EXAMPLES", "25"))
SPEC_STATUSES = {200, 400, 401, 403, 404, 413, 429}
JURISDICTION = "cantho.gov.vn"

pytestmark = pytest.mark.skipif(not SWAGGER.is_file(), reason="Open311 fixtures absent")


def spec_status(ctx: Any, response: Any, case: Any) -> bool:
    if response.status_code == 405:  # schemathesis also tries methods no path takes (TRACE)
        assert case.method.lower() not in _methods_of(case.path), case.method
        return True
    assert response.status_code in SPEC_STATUSES, (
        f"{case.method} {case.path}: {response.status_code} is no status of the spec"
    )
    return True


def _methods_of(path: str) -> set[str]:
    return set(_swagger(narrow=False)["paths"].get(path, {}))


CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance, spec_status]


def _swagger(narrow: bool) -> dict[str, Any]:
    raw = json.loads(SWAGGER.read_text()) if SWAGGER.is_file() else {"swagger": "2.0", "paths": {}}
    if narrow:
        raw = copy.deepcopy(raw)
        raw["parameters"]["response_format"]["enum"] = ["json", "xml"]
    return raw


@dataclass
class Target:
    base_url: str
    key: str


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("open311")
    if request.param == "sqlite":
        path = folder / "taydo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_schema_url"))
        _truncate_postgres(database)
    prepare_citizen(database)
    _record, key = create_key(database, "fuzz", actor="tests")
    settings_ = Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        observations_pack_after_hours=0,
        citizen_photos_dir=folder / "photos",
        citizen_jurisdiction_id=JURISDICTION,
        _env_file=None,
    )
    app = create_app(settings_, database=database)
    try:
        with serve_in_thread(app, log_level="critical") as base_url:
            yield Target(f"{base_url}/open311/v2", key)
    finally:
        database.dispose()


published = schemathesis.openapi.from_dict(_swagger(narrow=False))
narrowed = schemathesis.openapi.from_dict(_swagger(narrow=True))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _call(case: schemathesis.Case, target: Target, *, known: bool = False) -> None:
    case.query = {**(case.query or {}), "jurisdiction_id": JURISDICTION, "api_key": target.key}
    if known:
        # Drawn codes and ids are random text: point half the requests at what exists, so
        # that created reports (and the answers listing them) are checked too.
        if case.method == "POST" and len(str(case.query.get("service_code", ""))) % 2 == 0:
            case.query.update(service_code="khac", lat=10.034, long=105.785)
        if case.path.startswith("/request/") and case.path_parameters:
            case.path_parameters["service_request_id"] = "1"
    case.call_and_validate(base_url=target.base_url, checks=CHECKS, timeout=30)


@published.parametrize()
@FUZZ
def test_the_published_swagger(case: schemathesis.Case, target: Target) -> None:
    _call(case, target)


@narrowed.parametrize()
@FUZZ
def test_the_swagger_with_the_spec_formats(case: schemathesis.Case, target: Target) -> None:
    _call(case, target, known=True)


def test_every_swagger_operation_is_fuzzed() -> None:
    assert len(list(published.get_all_operations())) == 6
