"""The context store, the `taydo contexts` commands and the built-in core context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taydo.cli import app
from taydo.ingest.ngsild.context import ContextResolver, ContextStore, core_terms
from taydo.ingest.ngsild.errors import NgsiError

from .conftest import FIXTURES, SDM, SDM_URL

ENV_URL = SDM_URL.format(repo="dataModel.Environment")


def test_core_terms_match_the_published_core_context() -> None:
    published = json.loads(
        (FIXTURES / "ngsi-ld" / "ngsi-ld-core-context-v1.8.jsonld").read_text(encoding="utf-8")
    )["@context"]
    reference = ContextResolver(None).resolve(published)  # inline: no store, no network
    ours = core_terms()
    assert len(ours) > 50
    for term, iri in ours.items():
        assert reference.terms[term] == iri, term
    assert ours["value"] == "https://uri.etsi.org/ngsi-ld/hasValue"
    assert ours["observedAt"] == "https://uri.etsi.org/ngsi-ld/observedAt"


def test_cli_adds_lists_and_removes_contexts(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "store"
    monkeypatch.setenv("TAYDO_CONTEXTS_DIR", str(folder))
    runner = CliRunner()
    source = SDM / "contexts" / "dataModel.Environment.context.jsonld"
    added = runner.invoke(app, ["contexts", "add", str(source), "--url", ENV_URL])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["contexts", "list"])
    assert ENV_URL in listed.output
    context = ContextResolver(ContextStore(folder)).resolve([ENV_URL])
    assert context.expand("height") == "https://smartdatamodels.org/dataModel.Environment/height"
    assert context.compact("https://smartdatamodels.org/dataModel.Environment/height") == "height"
    not_json = tmp_path / "bad.jsonld"
    not_json.write_text("{}", encoding="utf-8")
    refused = runner.invoke(app, ["contexts", "add", str(not_json), "--url", "https://x.org/c"])
    assert refused.exit_code == 1 and "@context" in refused.output
    assert runner.invoke(app, ["contexts", "remove", ENV_URL]).exit_code == 0
    with pytest.raises(NgsiError) as missing:
        ContextResolver(ContextStore(folder)).resolve([ENV_URL])
    assert missing.value.kind == "LdContextNotAvailable" and ENV_URL in missing.value.detail


def test_remote_fetching_is_off_unless_allowed(tmp_path: Path) -> None:
    resolver = ContextResolver(ContextStore(tmp_path), fetch_remote=False)
    with pytest.raises(NgsiError) as refused:
        resolver.resolve("http://127.0.0.1:9/context.jsonld")
    assert refused.value.status == 503
    assert "kho" in refused.value.detail and "127.0.0.1:9" in refused.value.detail


def test_inline_contexts_prefixes_and_vocab() -> None:
    resolver = ContextResolver(None)
    context = resolver.resolve(
        [{"ex": "https://example.org/ns#", "level": "ex:level", "@vocab": "https://v.org/"}]
    )
    assert context.expand("level") == "https://example.org/ns#level"
    assert context.expand("ex:other") == "https://example.org/ns#other"
    assert context.expand("free") == "https://v.org/free"
    assert context.expand("urn:x:y") == "urn:x:y"
    assert context.expand("value") == "https://uri.etsi.org/ngsi-ld/hasValue"  # core wins
    assert resolver.core.compact("https://uri.etsi.org/ngsi-ld/default-context/abc") == "abc"
