"""alerts: stored titles written for people (names instead of area:/dataset: codes and level codes)

Revision ID: al4_titles_for_people
Revises: al3_judged_marks
Create Date: 2026-12-03

Titles stored before alert titles were composed for people end with the alert's target
("Rủi ro ngập lụt cấp phường: Cấp 2 — area:31340", "Bộ dữ liệu ngừng cập nhật — dataset:…")
and carry the engine's level code of a rate or an absence ("Mực nước lên nhanh: rate — …").
They are rewritten once, here, rather than at every display: the title is what the alerts
list, the alert page, the CAP feed, the notifications and the exports all read, and every one
of them then shows the same words without having to know the rules, the areas or the
datasets. A code whose name is not known (an area never loaded) is left as it is: a title
never loses what it is about.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "al4_titles_for_people"
down_revision: str | Sequence[str] | None = "al3_judged_marks"
branch_labels: str | Sequence[str] | None = None
# The names come from the areas and the datasets.
depends_on: str | Sequence[str] | None = ("g1_geo_initial", "c1_catalog_initial")

# The engine's level codes of the rule kinds that have no named level.
_LEVEL_CODES = {"rate": ": rate — ", "absence": ": absent — "}


def _name(connection: sa.Connection, target: str) -> str | None:
    kind, _sep, code = target.partition(":")
    if kind == "area" and code:
        statement = sa.text("SELECT name FROM areas WHERE code = :code")
    elif kind == "dataset" and code:
        statement = sa.text("SELECT name FROM datasets WHERE code = :code")
    else:
        return None
    found = connection.execute(statement, {"code": code}).scalar()
    return str(found) if found else None


def _retitled(title: str, target: str, kind: str, name: str | None) -> str:
    code = _LEVEL_CODES.get(kind)
    if code and code in title:
        title = title.replace(code, " — ", 1)
    suffix = " — " + target
    if name and title.endswith(suffix):
        title = title[: -len(suffix)] + " — " + name
    return title[:400]


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, title, title_en, target, rule_kind FROM alerts "
            "WHERE target LIKE 'area:%' OR target LIKE 'dataset:%' "
            "OR rule_kind IN ('rate', 'absence')"
        )
    ).all()
    names: dict[str, str | None] = {}
    update = sa.text("UPDATE alerts SET title = :title, title_en = :title_en WHERE id = :id")
    for alert_id, title, title_en, target, kind in rows:
        if target not in names:
            names[target] = _name(connection, target)
        name = names[target]
        new = _retitled(title or "", target, kind or "", name)
        new_en = _retitled(title_en or "", target, kind or "", name)
        if (new, new_en) != (title, title_en):
            connection.execute(update, {"id": alert_id, "title": new, "title_en": new_en})


def downgrade() -> None:
    pass  # the codes are not worth writing back: the old code reads a title as plain text
