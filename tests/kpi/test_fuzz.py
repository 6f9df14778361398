"""The parsers of KPI definitions fuzzed: any YAML document or any JSON-like source either
loads or is refused with ``Invalid`` / a validation error — never another exception (a 500)."""

from __future__ import annotations

import contextlib
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from taydo.core.errors import Invalid
from taydo.kpi.schemas import KpiIn
from taydo.kpi.service import parse_kpis_yaml

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "kind",
        "metric",
        "agg",
        "op",
        "threshold",
        "threshold_attribute",
        "of_metrics",
        "scale",
        "min_coverage",
        "numerator",
        "denominator",
        "aggregate",
        "agency",
        "entity_types",
    ]
)


@given(documents)
@example({"sectors": 5})
@example({"kpis": "text"})
@example({"sectors": ["a"], "kpis": [1]})
@example(
    {
        "kpis": [
            {
                "code": "x",
                "name": "X",
                "pillar": "xa-hoi-so",
                "source": {
                    "kind": "observations",
                    "metric": "m",
                    "agg": "share",
                    "op": "le",
                    "threshold": 1,
                    "threshold_attribute": "a",
                },
            }
        ]
    }
)
def test_any_document_loads_or_is_refused(document: Any) -> None:
    text = yaml.safe_dump(
        {"sectors": document, "kpis": document} if isinstance(document, list) else document
    )
    with contextlib.suppress(Invalid):
        parse_kpis_yaml(text)


@given(
    st.dictionaries(KEYS, documents, max_size=6),
    st.sampled_from(["observations", "records", "ratio", "citizen.on_time", "nope"]),
)
@example({}, "observations")
def test_any_source_is_valid_or_refused(source: dict[str, Any], kind: str) -> None:
    with contextlib.suppress(ValidationError):
        KpiIn.model_validate(
            {"code": "k", "name": "K", "pillar": "nen-tang", "source": {**source, "kind": kind}}
        )


def test_an_unhashable_kind_is_refused() -> None:
    for kind in (["observations"], {"a": 1}, None, 3):
        try:
            KpiIn.model_validate(
                {"code": "k", "name": "K", "pillar": "nen-tang", "source": {"kind": kind}}
            )
        except ValidationError as error:
            assert "source.kind must be one of" in str(error)
        else:
            raise AssertionError(kind)
