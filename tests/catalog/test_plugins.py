"""Meta-test: every plugin hook is documented in docs/plugins.md (as Datasette checks its hooks)."""

from __future__ import annotations

import re
from pathlib import Path

from taydo.core.plugins import make_plugin_manager

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _hook_names() -> set[str]:
    manager = make_plugin_manager(load_entry_points=False)
    return {
        name
        for name, caller in vars(manager.hook).items()
        if getattr(caller, "spec", None) is not None
    }


def test_every_hook_is_documented() -> None:
    hooks = _hook_names()
    assert "taydo_packs" in hooks
    documented = set(re.findall(r"^## (\w+)\s*$", DOCS.read_text(encoding="utf-8"), re.M))
    missing = sorted(hooks - documented)
    assert missing == [], f"document these hooks in docs/plugins.md: {missing}"


def test_documented_hooks_exist() -> None:
    """A section named like a hook (taydo_*) must describe a real hook, not a removed one."""
    documented = set(re.findall(r"^## (taydo_\w+)\s*$", DOCS.read_text(encoding="utf-8"), re.M))
    assert documented - _hook_names() == set()
