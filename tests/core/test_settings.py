from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from taydo.core.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`TAYDO_{name.upper()}`" not in text]
    assert missing == [], f"document these settings in docs/configuration.md: {missing}"


def test_environment_overrides_the_toml_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "taydo.toml"
    config.write_text('port = 9000\nbus_url = "nats://example:4222"\n', encoding="utf-8")
    monkeypatch.setenv("TAYDO_CONFIG_FILE", str(config))
    monkeypatch.setenv("TAYDO_PORT", "9100")
    import importlib

    import taydo.core.settings as module

    reloaded = importlib.reload(module)
    try:
        settings = reloaded.Settings()
        assert settings.port == 9100
        assert settings.bus_url == "nats://example:4222"
    finally:
        monkeypatch.delenv("TAYDO_CONFIG_FILE")
        importlib.reload(module)


def test_an_unknown_time_zone_fails_at_start(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TAYDO_DISPLAY_TIMEZONE", "Asia/Saigonn")
    with pytest.raises(ValidationError):
        Settings()


def test_the_secret_key_is_never_shown_in_repr(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TAYDO_SECRET_KEY", "very-secret-value-123")
    settings = Settings()
    assert "very-secret-value-123" not in repr(settings)
    assert "very-secret-value-123" not in settings.model_dump_json()


@pytest.mark.parametrize(
    ("key", "dev", "refused"),
    [
        ("abc", False, True),
        ("é" * 15 + "x", False, True),  # 31 bytes: counted in bytes, not characters
        ("é" * 16, False, False),
        ("k" * 32, False, False),
        ("change-me-taydo-default-secret", False, True),
        ("abc", True, False),  # development mode accepts any key
    ],
)
def test_a_secret_key_shorter_than_32_bytes_is_refused_outside_dev(
    key: str, dev: bool, refused: bool
) -> None:
    settings = Settings(secret_key=key, dev=dev)  # type: ignore[arg-type]
    problem = settings.secret_key_problem()
    assert (problem is not None) == refused
    if problem is not None:
        assert "TAYDO_SECRET_KEY" in problem and key not in problem
