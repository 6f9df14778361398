"""The demo's generated Smart Data Models contexts agree with the published ones.

Every term a generated document defines must expand to exactly the IRI the published
``context.jsonld`` of the same repository gives it (read from the shared fixtures, never
copied into the repository), both in the documents and through the server's resolver.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taydo.demo import contexts
from taydo.ingest.ngsild.context import ContextResolver, ContextStore
from taydo.packs.cantho.plugin import DATA_DIR

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures"
PUBLISHED = FIXTURES / "smart-data-models" / "contexts"
GENERATED = contexts.documents(DATA_DIR)


def _repo(url: str) -> str:
    return url.split("/smart-data-models/", 1)[1].split("/", 1)[0]


def _published(url: str) -> dict[str, object]:
    if not PUBLISHED.is_dir():
        pytest.skip(f"the shared fixtures are not here ({PUBLISHED}): nothing to compare with")
    path = PUBLISHED / f"{_repo(url)}.context.jsonld"
    assert path.exists(), f"no published context for {url} in the fixtures ({path})"
    found: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))["@context"]
    return found


def test_the_pack_types_get_their_repositories_contexts() -> None:
    assert {_repo(url) for url in GENERATED} == {
        "dataModel.Environment",
        "dataModel.WaterQuality",
        "dataModel.Transportation",
    }
    water_quality = GENERATED[contexts.URL.format(repo="dataModel.WaterQuality")]["@context"]
    assert {"WaterQualityObserved", "salinity", "pH", "temperature", "name"} <= set(water_quality)
    assert "pm25" not in water_quality  # another repository's term
    assert "AOX" not in water_quality  # published, but not a term the pack uses


@pytest.mark.parametrize("url", sorted(GENERATED), ids=_repo)
def test_every_generated_term_maps_to_the_published_iri(url: str) -> None:
    published = _published(url)
    generated = GENERATED[url]["@context"]
    assert generated, url
    differ = {
        term: (iri, published.get(term))
        for term, iri in generated.items()
        if published.get(term) != iri
    }
    assert differ == {}, f"generated → published IRIs that differ in {url}"


@pytest.mark.parametrize("url", sorted(GENERATED), ids=_repo)
def test_the_resolver_expands_generated_terms_as_the_published_context(
    url: str, tmp_path: Path
) -> None:
    _published(url)  # skips without the fixtures
    published_store = ContextStore(tmp_path / "published")
    published_store.add(url, (PUBLISHED / f"{_repo(url)}.context.jsonld").read_bytes())
    generated_store = ContextStore(tmp_path / "generated")
    assert contexts.fill(generated_store.folder, DATA_DIR) == sorted(GENERATED)
    ours = ContextResolver(generated_store).resolve(url)
    theirs = ContextResolver(published_store).resolve(url)
    for term in GENERATED[url]["@context"]:
        assert ours.expand(term) == theirs.expand(term), term
        assert ours.compact(theirs.expand(term)) == term, term


def test_fill_leaves_a_context_already_in_the_store(tmp_path: Path) -> None:
    url = contexts.URL.format(repo="dataModel.WaterQuality")
    store = ContextStore(tmp_path)
    store.add(url, b'{"@context": {"salinity": "https://example.org/salinity"}}')
    added = contexts.fill(tmp_path, DATA_DIR)
    assert url not in added and len(added) == len(GENERATED) - 1
    assert store.get(url) == {"@context": {"salinity": "https://example.org/salinity"}}
