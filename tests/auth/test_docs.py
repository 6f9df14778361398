"""docs/security.md stays true to the code."""

from __future__ import annotations

from pathlib import Path

from taydo.core.access import permission_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_permission_table_matches_grants() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- permission-table:start -->\n") + len(
        "<!-- permission-table:start -->\n"
    )
    end = text.index("<!-- permission-table:end -->")
    assert text[start:end] == permission_table(), (
        "docs/security.md is out of date: paste the output of `python -m taydo.core.access` "
        "between the permission-table markers"
    )


def test_every_auth_command_is_documented() -> None:
    from typer.main import get_command

    from taydo.auth.cli import audit_app, token_app, user_app

    text = DOC.read_text(encoding="utf-8")
    for group, typer_app in (("user", user_app), ("token", token_app), ("audit", audit_app)):
        for name in get_command(typer_app).commands:  # type: ignore[attr-defined]
            assert f"taydo {group} {name}" in text, f"`taydo {group} {name}` is not documented"


def test_the_tests_the_authorization_matrix_names_exist() -> None:
    """Each ``tests/…py::name`` of docs/security.md is a file holding that test function."""
    import re

    text = DOC.read_text(encoding="utf-8")
    root = DOC.parents[1]
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    assert len(cited) >= 20
    missing = []
    for path, name in cited:
        source = root / path
        if not source.is_file() or (name and f"def {name}(" not in source.read_text("utf-8")):
            missing.append(f"{path}::{name}" if name else path)
    assert missing == [], f"docs/security.md names tests that do not exist: {missing}"
