"""JSON-LD @context handling: the built-in core context, the local context store, term maps.

Why not PyLD: a full JSON-LD expansion and compaction per entity costs milliseconds, which
alone would cap a batch upsert far below the 5,000 entities/s budget. NGSI-LD only needs the
*term* part of JSON-LD (attribute names and entity types ↔ IRIs), so a resolved context is
reduced once to two dictionaries (term → IRI and IRI → term) and cached by its value; mapping
an entity's names is then a dictionary lookup each.

Contexts referenced by URL come from the core context shipped with the package, then from
the context store (a folder filled by ``taydo contexts add``), then — only when the operator
allows it — from the network. Anything else is refused with ``LdContextNotAvailable``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from taydo.ingest.ngsild.errors import NgsiError

__all__ = [
    "CORE_CONTEXT_URL",
    "HOSTED_PATH",
    "Context",
    "ContextResolver",
    "ContextStore",
    "core_document",
    "core_terms",
    "is_core_url",
]

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
_CORE_PREFIX = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
HOSTED_PATH = "/ngsi-ld/v1/jsonldContexts/"  # where this broker serves the contexts it hosts
_MAX_DEPTH = 8  # nested context imports
_MAX_TERMS = 100_000


# The published core contexts this broker answers with its own (v1.8 is a superset of the
# earlier ones for every term a client uses); another version is an unknown context (503).
_CORE_VERSIONS = ("", "-v1.3", "-v1.4", "-v1.5", "-v1.6", "-v1.7", "-v1.8")
_CORE_URLS = frozenset(f"{_CORE_PREFIX}{version}.jsonld" for version in _CORE_VERSIONS)


def is_core_url(url: str) -> bool:
    return url in _CORE_URLS


def core_document() -> bytes:
    """The core context document this broker answers with (v1.8)."""
    return resources.files("taydo.ingest.ngsild").joinpath("core-context.json").read_bytes()


def _load_core() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(core_document())
    core: dict[str, Any] = document["@context"]
    return core


_CORE = _load_core()


class ContextStore:
    """A folder of context documents, each registered under the URL clients reference.

    ``index.json`` maps URL → file name; files are named by a hash of their URL.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _index(self) -> dict[str, str]:
        path = self.folder / "index.json"
        if not path.exists():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return dict(data) if isinstance(data, dict) else {}

    def urls(self) -> list[str]:
        return sorted(self._index())

    def entries(self) -> list[tuple[str, str, float]]:
        """(URL, local id, when stored as a POSIX time) of every stored document."""
        out = []
        for url, name in sorted(self._index().items()):
            path = self.folder / name
            stored = path.stat().st_mtime if path.exists() else 0.0
            out.append((url, name.removesuffix(".jsonld"), stored))
        return out

    def url_of(self, local_id: str) -> str | None:
        """The URL a document is stored under, by its local id."""
        for url, name in self._index().items():
            if name.removesuffix(".jsonld") == local_id:
                return url
        return None

    def get(self, url: str) -> Any | None:
        """The document stored for ``url`` (parsed JSON), or None."""
        found = self._cache.get(url)
        if found is not None:
            return found
        name = self._index().get(url)
        if name is None:
            return None
        document = orjson.loads((self.folder / name).read_bytes())
        with self._lock:
            self._cache[url] = document
        return document

    def add(self, url: str, content: bytes, *, local_id: str | None = None) -> Path:
        """Store ``content`` (a JSON-LD document with ``@context``) under ``url``; its local
        id is ``local_id`` or, by default, a hash of the URL."""
        document = orjson.loads(content)
        if not isinstance(document, dict) or "@context" not in document:
            raise ValueError("not a JSON-LD context document: no top-level @context")
        if not url or any(c.isspace() for c in url) or ":" not in url:
            raise ValueError(f"not an absolute URL: {url!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        if local_id is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", local_id):
            raise ValueError(f"not a local id: {local_id!r}")
        name = (local_id or hashlib.sha256(url.encode()).hexdigest()[:24]) + ".jsonld"
        target = self.folder / name
        target.write_bytes(content)
        with self._lock:
            index = self._index()
            index[url] = name
            tmp = self.folder / "index.json.tmp"
            tmp.write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
            tmp.replace(self.folder / "index.json")
            self._cache.pop(url, None)
        return target

    def remove(self, url: str) -> bool:
        with self._lock:
            index = self._index()
            name = index.pop(url, None)
            if name is None:
                return False
            (self.folder / "index.json").write_text(
                json.dumps(index, indent=1, sort_keys=True), encoding="utf-8"
            )
            (self.folder / name).unlink(missing_ok=True)
            self._cache.pop(url, None)
        return True


@dataclass(frozen=True, slots=True)
class Context:
    """A resolved context: the value clients sent (to echo back) and its term maps."""

    value: Any  # what goes into "@context" / the Link header: a URL, a list, or None (core)
    terms: dict[str, str]
    reverse: dict[str, str]
    vocab: str | None
    memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def normalize(self, term: str) -> str:
        """compact(expand(term)), remembered: the write path asks for the same names often."""
        found = self.memo.get(term)
        if found is None:
            found = self.compact(self.expand(term))
            if len(self.memo) < 10_000:
                self.memo[term] = found
        return found

    def expand(self, term: str) -> str:
        found = self.terms.get(term)
        if found is not None:
            return found
        prefix, colon, suffix = term.partition(":")
        if colon:
            if suffix.startswith("//") or prefix not in self.terms:
                return term  # already an absolute IRI (http://…, urn:…)
            return self.terms[prefix] + suffix
        return (self.vocab or DEFAULT_VOCAB) + term

    def compact(self, iri: str) -> str:
        found = self.reverse.get(iri)
        if found is not None:
            return found
        vocab = self.vocab or DEFAULT_VOCAB
        if iri.startswith(vocab):
            rest = iri[len(vocab) :]
            if rest and rest not in self.terms and ":" not in rest:
                return rest
        return iri

    @property
    def link_url(self) -> str:
        """One URL for a Link header: the first remote context, else the core one."""
        values = self.value if isinstance(self.value, list) else [self.value]
        for item in values:
            if isinstance(item, str) and not is_core_url(item):
                return item
        return CORE_CONTEXT_URL


def _merge(definitions: dict[str, Any], raw: dict[str, Any], vocab: list[str | None]) -> None:
    for key, definition in raw.items():
        if key == "@vocab":
            vocab[0] = definition if isinstance(definition, str) else None
        elif key.startswith("@"):
            continue
        else:
            definitions[key] = definition


def _iri_of(definition: Any) -> str | None:
    if isinstance(definition, str):
        return definition
    if isinstance(definition, dict):
        found = definition.get("@id")
        return found if isinstance(found, str) else None
    return None


def _build(value: Any, definitions: dict[str, Any], vocab: str | None) -> Context:
    # The core context comes last and wins, as NGSI-LD requires (it is @protected).
    merged = dict(definitions)
    merged.update(_CORE)
    merged.pop("@vocab", None)
    raw = {k: _iri_of(v) for k, v in merged.items()}
    terms: dict[str, str] = {}

    def resolve(term: str, seen: frozenset[str] = frozenset()) -> str | None:
        iri = raw.get(term)
        if iri is None or iri.startswith("@"):
            return None
        prefix, colon, suffix = iri.partition(":")
        if colon and not suffix.startswith("//") and prefix in raw and prefix not in seen:
            base = resolve(prefix, seen | {term})
            if base is not None:
                return base + suffix
        if not colon:
            if iri != term and iri in raw and iri not in seen:
                return resolve(iri, seen | {term})
            return (vocab or DEFAULT_VOCAB) + iri
        return iri

    for term in raw:
        resolved = resolve(term)
        if resolved is not None:
            terms[term] = resolved
    reverse: dict[str, str] = {}
    # The shortest, then alphabetically first, term wins for an IRI (as JSON-LD compaction).
    for term in sorted(terms, key=lambda t: (len(t), t)):
        reverse.setdefault(terms[term], term)
    return Context(value=value, terms=terms, reverse=reverse, vocab=vocab or DEFAULT_VOCAB)


class ContextResolver:
    """Turns a client's @context value into a ``Context``; caches by value."""

    def __init__(
        self,
        store: ContextStore | None,
        *,
        fetch_remote: bool = False,
        fetch_timeout_s: float = 10.0,
        cache_size: int = 512,
    ) -> None:
        self.store = store
        self.fetch_remote = fetch_remote
        self.fetch_timeout_s = fetch_timeout_s
        self._cache: OrderedDict[bytes, Context] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.core = self.resolve(None)

    def resolve(self, value: Any) -> Context:
        try:
            key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:
            raise NgsiError("BadRequestData", f"invalid @context: {exc}") from exc
        found = self._cache.get(key)
        if found is not None:
            return found
        definitions: dict[str, Any] = {}
        vocab: list[str | None] = [None]
        self._collect(value, definitions, vocab, depth=0, seen=set())
        if len(definitions) > _MAX_TERMS:
            raise NgsiError("BadRequestData", "@context defines too many terms")
        context = _build(value, definitions, vocab[0])
        with self._lock:
            self._cache[key] = context
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return context

    def forget(self) -> None:
        """Drop every resolved context (a stored document was removed or replaced)."""
        with self._lock:
            self._cache.clear()
        self.core = self.resolve(None)

    def _collect(
        self,
        value: Any,
        definitions: dict[str, Any],
        vocab: list[str | None],
        *,
        depth: int,
        seen: set[str],
    ) -> None:
        if depth > _MAX_DEPTH:
            raise NgsiError("BadRequestData", "@context imports nest too deeply")
        if value is None:
            return
        if isinstance(value, list):
            for item in value:
                self._collect(item, definitions, vocab, depth=depth + 1, seen=seen)
        elif isinstance(value, str):
            if is_core_url(value) or value in seen:
                return
            seen.add(value)
            document = self._document(value)
            inner = document.get("@context") if isinstance(document, dict) else None
            if inner is None:
                raise NgsiError(
                    "BadRequestData", f"the document at {value} has no top-level @context"
                )
            self._collect(inner, definitions, vocab, depth=depth + 1, seen=seen)
        elif isinstance(value, dict):
            _merge(definitions, value, vocab)
        else:
            raise NgsiError("BadRequestData", "@context must be a URL, an object or a list")

    def _document(self, url: str) -> Any:
        if self.store is not None:
            found = self.store.get(url)
            if found is None and HOSTED_PATH in url:
                # A context this broker hosts, named by whatever host the client reached us at.
                hosted = self.store.url_of(url.rsplit("/", 1)[-1])
                found = self.store.get(hosted) if hosted and HOSTED_PATH in hosted else None
            if found is not None:
                return found
        if not self.fetch_remote:
            raise NgsiError(
                "LdContextNotAvailable",
                f"@context {url} không có trong kho ngữ cảnh / is not in the context store "
                "(add it with `taydo contexts add FILE --url URL`)",
            )
        return self._fetch(url)

    def _fetch(self, url: str) -> Any:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise NgsiError("LdContextNotAvailable", f"cannot fetch @context {url}")
        try:
            response = httpx.get(url, timeout=self.fetch_timeout_s, follow_redirects=True)
            response.raise_for_status()
            document = orjson.loads(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise NgsiError(
                "LdContextNotAvailable", f"@context {url} could not be fetched: {exc}"
            ) from exc
        if self.store is not None:
            # Serving the request matters more than caching the document.
            with contextlib.suppress(OSError, ValueError):
                self.store.add(url, response.content)
        return document


def core_terms() -> dict[str, str]:
    """Term → IRI of the core terms the server knows (for tests and docs)."""
    return dict(_build(None, {}, None).terms)
