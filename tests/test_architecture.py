"""The house's shape (docs/architecture.md), checked: no import circles, every built-in domain
registers through the plugin hook, handlers never read ``app.state``, every package is a
regular package, and no import of the project's own modules is allowed to fail quietly.
The layer contracts themselves are import-linter's (``make lint``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

from taydo.core.plugins import domains, make_plugin_manager

SRC = Path(__file__).resolve().parents[1] / "src" / "taydo"
TESTS = Path(__file__).resolve().parent
BUILT_IN = {
    "auth", "geo", "catalog", "observations", "ingest", "rules", "alerts", "citizen", "incidents",
    "directives", "workforce", "kpi", "reports", "console", "ops",
}  # fmt: skip


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_in_a_circle() -> None:
    graph = grimp.build_graph("taydo", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_every_built_in_domain_registers_through_the_hook() -> None:
    registered = {d.name: d for d in domains(make_plugin_manager())}
    assert set(registered) >= BUILT_IN
    for name in BUILT_IN - {"console", "ops"}:  # no tables of their own
        assert registered[name].migrations == SRC / name / "migrations", name
        assert registered[name].migrations.is_dir(), name


def test_domains_start_after_the_domains_they_require() -> None:
    order = [d.name for d in domains(make_plugin_manager())]
    for position, domain in enumerate(domains(make_plugin_manager())):
        assert set(domain.requires) <= set(order[:position]), domain.name


def test_no_handler_reads_app_state() -> None:
    faces = [*SRC.rglob("api.py"), *SRC.rglob("pages.py"), *SRC.rglob("*_api.py")]
    assert faces
    offenders = [str(p) for p in faces if "app.state" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_every_package_is_a_regular_package() -> None:
    for folder in [SRC, *[p for p in SRC.rglob("*") if p.is_dir()]]:
        if folder.name == "__pycache__" or not any(folder.glob("*.py")):
            continue
        assert (folder / "__init__.py").is_file(), f"{folder} has no __init__.py"


def _imports_own_module(handler_body: list[ast.stmt]) -> bool:
    for node in ast.walk(ast.Module(body=handler_body, type_ignores=[])):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("taydo"):
            return True
        if isinstance(node, ast.Import) and any(a.name.startswith("taydo") for a in node.names):
            return True
    return False


def test_no_import_of_our_own_modules_may_fail_quietly() -> None:
    quiet = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            catches = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if catches & {"ImportError", "ModuleNotFoundError"} and _imports_own_module(node.body):
                quiet.append(f"{path}:{node.lineno}")
    assert quiet == []
    skipped = [
        str(p)
        for p in TESTS.rglob("*.py")
        if re.search(r"importorskip\(\s*[\"']taydo", p.read_text(encoding="utf-8"))
    ]
    assert skipped == []
