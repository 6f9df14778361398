"""An upload without anyone writing a mapping: the officer downloads the dataset's template
from the upload page, fills it, uploads it through the console form, and reads how many values
were new, how many were already stored, and which rows were refused."""

from __future__ import annotations

import io
import re
from datetime import datetime

import openpyxl
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taydo.core.errors import Invalid
from taydo.ingest.files.parse import Mapping
from taydo.ingest.files.service import DEFAULT_ENTITY, DEFAULT_TS, parse_file
from tests.ingest.conftest import PARSER_DEADLINE
from tests.ingest.files.test_upload import T0, _dataset, _stored
from tests.ingest.files.test_upload_page import _login

TEMPLATE = "/api/v1/datasets/muc-nuoc-tay/upload-template.xlsx"


def _submit(client: TestClient, token: str, name: str, data: bytes) -> str:
    """The console form, as the browser posts it; the result page it redirects to."""
    answer = client.post(
        "/data/upload",
        data={"csrf_token": token, "dataset": "muc-nuoc-tay", "mode": "accept_valid"},
        files={"file": (name, data)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"])
    assert page.status_code == 200
    return page.text


def _count(page: str, name: str) -> int:
    found = re.search(rf'<dd id="{name}">(\d+)</dd>', page)
    assert found is not None, name
    return int(found.group(1))


def _filled(template: bytes, rows: list[list[object]]) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(template))
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_filled_template_uploads_with_no_mapping_then_again_as_duplicates(
    client: TestClient, database
) -> None:  # type: ignore[no-untyped-def]
    ids = _dataset(database)
    token = _login(client, database, "agency_officer", ["SNNMT"])
    page = client.get("/data/upload", params={"dataset": "muc-nuoc-tay"}).text
    assert f'href="{TEMPLATE}"' in page and 'id="default-mapping"' in page
    template = client.get(TEMPLATE)  # the link on the page, with the browser's session
    assert template.status_code == 200
    headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(template.content)).active[1]]
    assert headers == [DEFAULT_TS, DEFAULT_ENTITY, "height", "temperature"]

    filled = _filled(
        template.content,
        [
            [datetime(2026, 2, 1, 7, 0), "Trạm Ninh Kiều", 1.25, "28,5"],
            ["01/02/2026 08:00", "NK-01", "1,3", None],
        ],
    )
    first = _submit(client, token, "mau-thang-2.xlsx", filled)
    assert "Đã lưu" in first
    assert (_count(first, "values-new"), _count(first, "values-duplicate")) == (3, 0)
    assert _count(first, "rows-rejected") == 0
    assert sorted(_stored(database)) == sorted(
        [
            (ids["height"], T0, 1.25),
            (ids["temperature"], T0, 28.5),
            (ids["height"], T0 + 3_600_000, 1.3),
        ]
    )

    # The same file again: every value is already there, nothing new is written.
    again = _submit(client, token, "mau-thang-2.xlsx", filled)
    assert (_count(again, "values-new"), _count(again, "values-duplicate")) == (0, 3)
    assert len(_stored(database)) == 3
    # The list of uploads shows both, newest first: 0 new / 3 duplicates, then 3 new / 0.
    counts = re.findall(r'<td class="num">(\d+)</td><td class="num">(\d+)</td></tr>', again)
    assert counts[:2] == [("0", "3"), ("3", "0")]
    # The API tells the mapping used is the template's.
    api = client.get("/api/v1/datasets/muc-nuoc-tay/column-mapping")
    assert api.headers["X-Taydo-Mapping"] == "default"


def test_a_bad_row_is_named_and_the_rest_is_counted(client: TestClient, database) -> None:  # type: ignore[no-untyped-def]
    ids = _dataset(database)
    token = _login(client, database, "agency_officer", ["SNNMT"])
    template = client.get(TEMPLATE).content
    first = _submit(
        client, token, "a.xlsx", _filled(template, [["01/02/2026 07:00", "NK-01", 1.25, None]])
    )
    assert _count(first, "values-new") == 1
    # A file whose agency dropped the temperature column (it does not measure it): fine.
    book = openpyxl.load_workbook(io.BytesIO(template))
    book.active.delete_cols(4)
    out = io.BytesIO()
    book.save(out)
    mixed = _filled(
        out.getvalue(),
        [
            ["01/02/2026 07:00", "NK-01", 1.25],  # row 2: already stored
            ["01/02/2026 08:00", "NK-01", 2.0],  # row 3: new
            ["01/02/2026 09:00", "Trạm Không Có", 1.0],  # row 4: no such station
            ["01/02/2026 10:00", "NK-01", "cao"],  # row 5: not a number
        ],
    )
    page = _submit(client, token, "b.xlsx", mixed)
    assert "Lưu một phần" in page
    assert (_count(page, "values-new"), _count(page, "values-duplicate")) == (1, 1)
    assert _count(page, "rows-rejected") == 2
    assert '<td class="num">4</td><td>Trạm</td><td>Trạm Không Có</td>' in page
    assert '<td class="num">5</td><td>height</td><td>cao</td>' in page
    assert (ids["height"], T0 + 3_600_000, 2.0) in _stored(database)


def test_without_the_template_columns_the_file_is_refused(client: TestClient, database) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    token = _login(client, database, "agency_officer", ["SNNMT"])
    answer = client.post(
        "/data/upload",
        data={"csrf_token": token, "dataset": "muc-nuoc-tay"},
        files={"file": ("x.csv", "Thời gian;Trạm;Mưa\n01/02/2026 07:00;NK-01;3\n".encode())},
    )
    assert answer.status_code == 422 and "thiếu cột" in answer.text
    assert _stored(database) == []


DEFAULT = Mapping(
    ts=DEFAULT_TS, entity=DEFAULT_ENTITY, metrics={"height": "height", "pm25": "pm25"}
)
_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))  # what a cell may hold
HEADERS = [DEFAULT_TS, DEFAULT_ENTITY, "height", "pm25", "Ghi chú", ""]


@given(
    headers=st.lists(
        st.one_of(st.sampled_from(HEADERS), st.text(_PRINTABLE, max_size=12)),
        max_size=8,
        unique=True,
    ),
    every_metric=st.booleans(),
)
@settings(max_examples=100, deadline=PARSER_DEADLINE, suppress_health_check=[HealthCheck.too_slow])
def test_the_column_check_of_a_default_mapping(headers: list[str], every_metric: bool) -> None:
    """Any header row: the file is read iff it has the time and station columns and all the
    metric columns (a saved mapping) or at least one of them (the template's default)."""
    book = openpyxl.Workbook()
    book.active.append(headers or [None])
    out = io.BytesIO()
    book.save(out)
    present = {h.strip() for h in headers}
    metrics = [m for m in DEFAULT.metrics if m in present]
    wanted = {DEFAULT_TS, DEFAULT_ENTITY} <= present and (
        len(metrics) == len(DEFAULT.metrics) if every_metric else bool(metrics)
    )
    try:
        parse_file("t.xlsx", out.getvalue(), DEFAULT, every_metric=every_metric)
    except Invalid as exc:
        assert not wanted, exc.message
    else:
        assert wanted
