"""The Smart Data Models @context documents the demo puts in its context store, generated.

NGSI-LD clients name a context by URL (``Link`` header or ``@context``); the server resolves a
URL only from its context store and, by default, never fetches one. So that the NGSI-LD
examples of docs/ngsi-ld.md work on the demo with no network, the demo registers a document
under each Smart Data Models context URL its stations' types belong to
(``https://raw.githubusercontent.com/smart-data-models/dataModel.<X>/master/context.jsonld``).

Each document is written here from what the IOC itself knows, not copied: the entity types the
pack declares (``entity_types.yaml``: the Smart Data Models type name, its ``data_model``
repository and its metric names), mapped to IRIs by the Smart Data Models convention — a
model's own term is ``https://smartdatamodels.org/dataModel.<X>/<term>`` — plus the common
terms every Smart Data Models context defines alike (``https://smartdatamodels.org/<term>``,
or what the NGSI-LD core context says for ``type``, ``id``, ``location`` and ``description``).

Only those terms, on purpose: the document is the IOC's own statement of the terms it knows,
and a term it does not know falls in the default vocabulary instead of being given an IRI we
never checked. ``tests/test_demo_contexts.py`` checks every emitted term against the published
contexts. An operator who needs the full published contexts adds them to the demo's store with
``taydo contexts add FILE --url URL`` (``TAYDO_CONTEXTS_DIR=taydo-demo.db.contexts``); the demo
never replaces a context the store already has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from taydo.catalog.service import load_entity_types
from taydo.ingest.ngsild.context import ContextStore, core_terms

__all__ = ["COMMON_TERMS", "SDM_BASE", "URL", "documents", "fill"]

URL = "https://raw.githubusercontent.com/smart-data-models/{repo}/master/context.jsonld"
SDM_BASE = "https://smartdatamodels.org/"

# Terms of the Smart Data Models common schema (GSMA-Commons, address, entity dates) that
# every dataModel.* context maps to https://smartdatamodels.org/<term>. Terms some contexts
# make model-specific (refDevice, refPointOfInterest, validTo, …) are deliberately absent.
COMMON_TERMS = (
    "address",
    "addressCountry",
    "addressLocality",
    "addressRegion",
    "alternateName",
    "areaServed",
    "dataProvider",
    "dateCreated",
    "dateModified",
    "dateObserved",
    "name",
    "owner",
    "postalCode",
    "seeAlso",
    "source",
    "streetAddress",
)
# Terms the NGSI-LD core context defines, written as it does (it wins over any other context).
KEYWORD_ALIASES = {"id": "@id", "type": "@type"}
CORE_DEFINED = ("description", "location")


def _common() -> dict[str, str]:
    core = core_terms()
    terms = {term: SDM_BASE + term for term in COMMON_TERMS}
    terms.update({term: core[term] for term in CORE_DEFINED})
    terms.update(KEYWORD_ALIASES)
    return terms


def documents(data_dir: Path) -> dict[str, dict[str, Any]]:
    """URL → generated context document, one per Smart Data Models repository that the
    entity types of the pack in ``data_dir`` name (types without ``data_model`` get none)."""
    own: dict[str, dict[str, str]] = {}
    for type_name, spec in load_entity_types(data_dir).items():
        if spec.data_model is None:
            continue
        base = f"{SDM_BASE}{spec.data_model}/"
        terms = own.setdefault(spec.data_model, {})
        for term in (type_name, *spec.metrics):
            terms[term] = base + term
    common = _common()
    return {
        URL.format(repo=repo): {"@context": dict(sorted({**terms, **common}.items()))}
        for repo, terms in sorted(own.items())
    }


def fill(folder: Path, data_dir: Path) -> list[str]:
    """Add each generated context ``folder``'s store lacks; returns the URLs added.

    A URL the store already answers for is left alone: an operator may have put the full
    published context there."""
    store = ContextStore(folder)
    known = set(store.urls())
    added = []
    for url, document in documents(data_dir).items():
        if url not in known:
            store.add(url, orjson.dumps(document, option=orjson.OPT_INDENT_2))
            added.append(url)
    return added
