"""The pattern matcher of ``idPattern`` and ``~=`` (ingest/ngsild/pattern.py): any text is a
pattern or a BadRequestData/TooComplexQuery, never a crash; where both accept a pattern,
it matches exactly as Python's ``re.search``; and it stays linear where ``re`` is not."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.pattern import Pattern
from taydo.ingest.ngsild.query import parse_q

ATOMS = ["a", "b", ".", "[ab]", "[^a]", "(a|b)", "(ab)", "(a|bb)", "\\d", "1", "^", "$", "(?:a)"]
QUANTIFIERS = ["", "", "*", "+", "?", "{1,2}", "{2}", "*?"]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(QUANTIFIERS)),
                          min_size=1, max_size=6))  # fmt: skip
    text = "".join(atom + (q if atom not in ("^", "$") else "") for atom, q in parts)
    if draw(st.booleans()):
        text = f"({text})" + draw(st.sampled_from(["", "*", "+", "|b"]))
    return text


@given(patterns(), st.lists(st.text(alphabet="ab1\n", max_size=10), min_size=1, max_size=8))
def test_matches_as_re_search(pattern: str, texts: list[str]) -> None:
    compiled = Pattern(pattern)
    for text in texts:
        assert compiled.search(text) == bool(re.search(pattern, text)), (pattern, text)


@given(st.text(max_size=60))
def test_any_text_is_a_pattern_or_a_clear_refusal(text: str) -> None:
    try:
        compiled = Pattern(text)
    except NgsiError as error:
        assert error.kind in ("BadRequestData", "TooComplexQuery")
        return
    compiled.search("urn:ngsi-ld:WaterQualityObserved:CT01")


@given(st.text(max_size=40))
def test_q_with_a_pattern_operator_parses_or_refuses(text: str) -> None:
    try:
        parse_q(f"name~={text}")
    except NgsiError as error:
        assert error.kind in ("BadRequestData", "TooComplexQuery")


def test_catastrophic_patterns_stay_linear() -> None:
    # re takes exponential time on these (2**40 steps for 40 characters); here they are
    # a few thousand automaton steps for 255 characters
    for pattern in ("^(a+)+$", "^(a|aa)*$", "^(a|a?)+b$", "(.*a){12}b"):
        assert Pattern(pattern).search("a" * 254 + "!") is False
