"""One write path per thing, and imports that go one way only (read from the source).

- audit entries: only ``taydo.auth.journal.record`` writes the journal, and every domain
  imports it plainly (no importlib, no ``except ImportError`` around it);
- entities and metrics: only the catalog writes their tables;
- catalog imports neither ingest nor observations; observations does not import ingest.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "taydo"


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def test_lower_domains_do_not_import_higher_ones() -> None:
    forbidden = {
        "catalog": ("taydo.ingest", "taydo.observations"),
        "observations": ("taydo.ingest",),
        "auth": ("taydo.catalog", "taydo.ingest", "taydo.observations", "taydo.alerts"),
    }
    found = []
    for package, prefixes in forbidden.items():
        for path in _modules(package):
            found += [
                f"{_name(path)} imports {name}"
                for name in sorted(_imports(path))
                if name.startswith(prefixes)
            ]
    assert found == []


def test_only_the_journal_writes_audit_entries() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if _name(path).startswith("auth/"):
            continue
        if "AuditEntry" in text or "audit_journal" in text or "AuditHead" in text:
            found.append(f"{_name(path)} touches the journal's tables")
        if "taydo.auth.journal" in text and ("importlib" in text or "ImportError" in text):
            found.append(f"{_name(path)} looks the journal up at run time")
    assert found == []


def test_only_the_catalog_writes_entities_and_metrics() -> None:
    writes = ("insert(ENTITIES", "update(ENTITIES", "delete(ENTITIES", "insert(METRICS")
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if _name(path).startswith("catalog/") or "/migrations/" in _name(path):
            continue
        text = path.read_text(encoding="utf-8")
        if any(w in text for w in writes) or "insert_returning(" in text:
            found.append(_name(path))
    assert found == []
