"""Regular expressions from callers (``idPattern``, the ``~=`` operator of ``q``) matched
in time linear in the text, whatever the pattern.

Python's ``re`` backtracks: a pattern such as ``(a+)+b`` takes exponential time, and an
``idPattern`` is tried against every entity a query reads. So a pattern is parsed here
(a common subset of POSIX ERE and ECMAScript: literals, ``.``, classes with ranges and
``\\d \\w \\s`` (and their negations), groups, ``|``, ``* + ? {m} {m,} {m,n}`` (a lazy ``?``
after them is accepted: it changes which text a group captures, never whether the
pattern matches), ``^`` and ``$``) into a Thompson automaton, and run as a DFA built
lazily, at most MAX_DFA_STATES states (then each step is the NFA's, still linear). What
would need backtracking (back-references, look-around) is refused with BadRequestData.
A match is a search, as POSIX ``regexec`` does: anchor with ``^…$`` for the whole text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from taydo.ingest.ngsild.errors import NgsiError

__all__ = ["MAX_PATTERN", "Pattern", "compile_pattern"]

MAX_PATTERN = 512  # characters of a pattern
MAX_NFA = 4000  # states after counted repeats are expanded
MAX_DFA_STATES = 2000
MAX_REPEAT = 255  # the largest bound of {m,n}: ids are at most 255 characters

CharTest = Callable[[str], bool]


def _bad(detail: str) -> NgsiError:
    return NgsiError("BadRequestData", f"biểu thức không hợp lệ / invalid pattern: {detail}")


# -- parsing into a small tree ------------------------------------------------------------
# ("char", test) | ("cat", [nodes]) | ("alt", [nodes]) | ("rep", node, min, max|None)
# | ("bol",) | ("eol",) | ("empty",)

_CLASSES: dict[str, CharTest] = {
    "d": str.isdigit,
    "w": lambda c: c.isalnum() or c == "_",
    "s": str.isspace,
}


def _class_escape(letter: str) -> CharTest | None:
    lower = letter.lower()
    if lower not in _CLASSES:
        return None
    test = _CLASSES[lower]
    return test if letter.islower() else (lambda c: not test(c))


_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def peek(self) -> str | None:
        return self.text[self.i] if self.i < len(self.text) else None

    def take(self) -> str:
        char = self.peek()
        if char is None:
            raise _bad("unexpected end")
        self.i += 1
        return char

    def alternation(self, depth: int) -> tuple:  # type: ignore[type-arg]
        if depth > 32:
            raise _bad("groups nest too deeply")
        branches = [self.sequence(depth)]
        while self.peek() == "|":
            self.take()
            branches.append(self.sequence(depth))
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self, depth: int) -> tuple:  # type: ignore[type-arg]
        items: list[tuple] = []  # type: ignore[type-arg]
        while self.peek() not in (None, "|", ")"):
            atom = self.atom(depth)
            items.append(self.quantified(atom))
        if not items:
            return ("empty",)
        return items[0] if len(items) == 1 else ("cat", items)

    def quantified(self, atom: tuple) -> tuple:  # type: ignore[type-arg]
        char = self.peek()
        bounds: tuple[int, int | None] | None = None
        if char == "*":
            bounds = (0, None)
        elif char == "+":
            bounds = (1, None)
        elif char == "?":
            bounds = (0, 1)
        elif char == "{" and self._is_counted():
            self.take()
            bounds = self._counted()
        if bounds is None:
            return atom
        if char != "{":
            self.take()
        if atom[0] in ("bol", "eol"):
            raise _bad("nothing to repeat")
        if self.peek() == "?":
            self.take()  # lazy: the same strings match
        if self.peek() in ("*", "+", "?") or (self.peek() == "{" and self._is_counted()):
            raise _bad("multiple repeat")
        return ("rep", atom, bounds[0], bounds[1])

    def _is_counted(self) -> bool:
        rest = self.text[self.i + 1 :]
        close = rest.find("}")
        if close <= 0:
            return False
        low, _, high = rest[:close].partition(",")
        return low.isdigit() and (high == "" or high.isdigit())

    def _counted(self) -> tuple[int, int | None]:
        close = self.text.index("}", self.i)
        body = self.text[self.i : close]
        self.i = close + 1
        low_text, comma, high_text = body.partition(",")
        low = int(low_text)
        high = int(high_text) if high_text else (None if comma else low)
        if low > MAX_REPEAT or (high is not None and (high > MAX_REPEAT or high < low)):
            raise _bad(f"bad repeat {{{body}}} (bounds at most {MAX_REPEAT}, low ≤ high)")
        return low, high

    def atom(self, depth: int) -> tuple:  # type: ignore[type-arg]
        char = self.take()
        if char == "(":
            if self.peek() == "?":
                self.take()
                if self.take() != ":":
                    raise _bad("look-around and named groups are not supported")
            inner = self.alternation(depth + 1)
            if self.peek() != ")":
                raise _bad("missing )")
            self.take()
            return inner
        if char == ")":
            raise _bad("unbalanced )")
        if char == "[":
            return ("char", self._set())
        if char == ".":
            return ("char", lambda c: c != "\n")
        if char == "^":
            return ("bol",)
        if char == "$":
            return ("eol",)
        if char in "*+?":
            raise _bad("nothing to repeat")
        if char == "\\":
            return ("char", self._escape(in_set=False))
        return ("char", char.__eq__)

    def _escape(self, *, in_set: bool) -> CharTest:
        letter = self.take()
        test = _class_escape(letter)
        if test is not None:
            return test
        if letter in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[letter].__eq__
        if letter.isalnum():
            # \1 (a back-reference), \b, \B, \A, \Z … need more than an automaton
            raise _bad(f"\\{letter} is not supported")
        return letter.__eq__

    def _set(self) -> CharTest:
        negate = self.peek() == "^"
        if negate:
            self.take()
        tests: list[CharTest] = []
        ranges: list[tuple[str, str]] = []
        singles: set[str] = set()
        first = True
        while True:
            char = self.take()
            if char == "]" and not first:
                break
            first = False
            if char == "\\":
                escaped = self.text[self.i] if self.i < len(self.text) else ""
                if _class_escape(escaped) is not None:
                    tests.append(self._escape(in_set=True))
                    continue
                test = self._escape(in_set=True)
                low = next(c for c in (escaped, *_SIMPLE_ESCAPES.values()) if test(c))
            else:
                low = char
            if self.peek() == "-" and self.i + 1 < len(self.text) and self.text[self.i + 1] != "]":
                self.take()
                high = self.take()
                if high == "\\":
                    high = self.take()
                if high < low:
                    raise _bad(f"bad range {low}-{high}")
                ranges.append((low, high))
            else:
                singles.add(low)

        def member(c: str) -> bool:
            found = c in singles or any(a <= c <= b for a, b in ranges) or any(t(c) for t in tests)
            return found != negate

        return member


# -- the automaton -------------------------------------------------------------------------


@dataclass
class _Nfa:
    tests: list[CharTest | None] = field(default_factory=list)  # None: not a char state
    targets: list[int] = field(default_factory=list)  # where a char state goes
    eps: list[list[int]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # "char", "eps", "bol", "eol", "accept"

    def state(self, kind: str, test: CharTest | None = None) -> int:
        if len(self.kinds) >= MAX_NFA:
            raise NgsiError(
                "TooComplexQuery", "the pattern is too large once its repeats are expanded"
            )
        self.kinds.append(kind)
        self.tests.append(test)
        self.targets.append(-1)
        self.eps.append([])
        return len(self.kinds) - 1


def _build(nfa: _Nfa, node: tuple, out: int) -> int:  # type: ignore[type-arg]
    """States for ``node`` that go on to ``out``; returns the entry state."""
    kind = node[0]
    if kind == "char":
        state = nfa.state("char", node[1])
        nfa.targets[state] = out
        return state
    if kind in ("bol", "eol"):
        state = nfa.state(kind)
        nfa.eps[state].append(out)
        return state
    if kind == "empty":
        return out
    if kind == "cat":
        for item in reversed(node[1]):
            out = _build(nfa, item, out)
        return out
    if kind == "alt":
        split = nfa.state("eps")
        nfa.eps[split] = [_build(nfa, branch, out) for branch in node[1]]
        return split
    _, inner, low, high = node
    entry = out
    if high is None:  # a loop: inner then back, or on
        loop = nfa.state("eps")
        nfa.eps[loop] = [_build(nfa, inner, loop), out]
        entry = loop
    else:
        for _ in range(high - low):  # optional copies
            optional = nfa.state("eps")
            nfa.eps[optional] = [_build(nfa, inner, entry), out]
            entry = optional
    for _ in range(low):  # the copies that must match
        entry = _build(nfa, inner, entry)
    return entry


class Pattern:
    """A compiled pattern: ``search(text)`` in time linear in ``len(text)``."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text:
            raise _bad("empty")
        if len(text) > MAX_PATTERN:
            raise NgsiError("TooComplexQuery", f"a pattern is at most {MAX_PATTERN} characters")
        parser = _Parser(text)
        tree = parser.alternation(0)
        if parser.i != len(text):
            raise _bad("unbalanced )")
        self.text = text
        self._nfa = nfa = _Nfa()
        self._accept = nfa.state("accept")
        self._start = _build(nfa, tree, self._accept)
        self._dfa: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    def _closure(
        self, states: set[int] | list[int], at_start: bool, at_end: bool
    ) -> frozenset[int]:
        nfa, seen, stack = self._nfa, set(), list(states)
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            kind = nfa.kinds[state]
            if kind == "eps" or (kind == "bol" and at_start) or (kind == "eol" and at_end):
                stack.extend(nfa.eps[state])
        return frozenset(seen)

    def search(self, text: str) -> bool:
        # Searching = an implicit ``.*`` before the pattern: the start state is added back
        # at every position. ``$`` is resolved by one more closure at the end of the text.
        nfa, accept = self._nfa, self._accept
        current = self._closure([self._start], True, not text)
        if accept in current:
            return True
        last = len(text) - 1
        for index, char in enumerate(text):
            key = (current, char)
            following = self._dfa.get(key) if index < last else None
            if following is None:
                moved = [nfa.targets[s] for s in current if nfa.kinds[s] == "char"
                         and nfa.tests[s](char)]  # type: ignore[misc]  # fmt: skip
                moved.append(self._start)
                following = self._closure(moved, False, index == last)
                if index < last and len(self._dfa) < MAX_DFA_STATES:
                    self._dfa[key] = following
            if accept in following:
                return True
            current = following
        return False


def compile_pattern(text: str) -> Pattern:
    return Pattern(text)
