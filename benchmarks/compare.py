"""``make bench-compare BASE=<rev>``: the same benchmarks on a baseline checkout and on this
tree, alternately, in the same session; their figures side by side.

What it does:

1. ``git worktree add --detach`` of BASE into ``/tmp/taydo-bench-base-<sha>`` (removed at the
   end with ``git worktree remove --force``; ``--keep`` leaves it).
2. Copies *this* tree's ``benchmarks/`` folder over the baseline's, so both sides run
   identical benchmark code (data, sizes, clients, timing and the ``--json`` output) and only
   ``src/`` differs — the fair comparison. If the code under test moved so that these
   benchmarks cannot import the baseline, ``--base-benchmarks own`` runs the baseline's own
   benchmarks instead and reads their printed figures (a benchmark without ``--json``).
3. Runs the chosen benchmarks (default ``ingest mqtt alerts``: HTTP ingest in the live
   shape, MQTT ingest, observation → alert latency) base, head, base, head … for ``--rounds``
   rounds (default 3), each run in its own process with this interpreter
   (``sys.executable``), ``PYTHONPATH=<tree>:<tree>/src`` — ahead of the venv's editable
   install, a plain ``.pth`` path entry to the main checkout's ``src`` — and an empty
   working directory (so a ``taydo.toml`` in either tree is read by neither). Subprocesses a
   benchmark starts (``taydo serve``, the MQTT publisher) inherit that environment. Every
   run's argument list is the same for both trees.
   The venv's installed ``taydo`` metadata — its plugin entry points — is that of whichever
   tree was last ``pip install -e``'d, and a tree cannot load another's plugin modules. So
   each tree also gets, first on its ``PYTHONPATH``, a folder holding a ``taydo`` dist-info
   made from *its* ``pyproject.toml`` (entry points, version) and a ``sitecustomize`` that
   lets ``importlib.metadata`` see only the first ``taydo`` distribution on the path (that
   one); the check below prints the plugin entry points each tree's child sees.
4. Reads each run's headline figures from the JSON file the benchmark writes
   (``$TAYDO_BENCH_JSON``, the same as its ``--json PATH``), which also records the
   ``taydo`` package it imported: a run that imported the other tree's code is an error.
5. Prints, per benchmark and figure: the baseline's median and every run, the head's median
   and every run, head/base of the medians, and whether the two sides' runs overlap. One run
   of a benchmark moves by ±15 % on the 2-core reference machine: judge "within noise" from
   the runs, not from one ratio.

Usage::

    python benchmarks/compare.py --base main                     # 3 rounds, default sizes
    python benchmarks/compare.py --base HEAD~1 --quick --rounds 1  # smoke-size try
    python benchmarks/compare.py --base main mqtt --args mqtt="--count 100000"

"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent

# name → module and the arguments every run gets (both trees).
BENCHMARKS: dict[str, list[str]] = {
    "ingest": ["benchmarks.ingest", "--shape", "live"],
    "ingest-backfill": ["benchmarks.ingest", "--shape", "backfill"],
    "mqtt": ["benchmarks.mqtt"],
    "alerts": ["benchmarks.alerts", "--latency-only"],
    "alerts-full": ["benchmarks.alerts"],
}
DEFAULT = ["ingest", "mqtt", "alerts"]
# The figure of each that the acceptance rule of a refactor names (shown as each run ends).
HEADLINE = {
    "ingest": "HTTP ingest",
    "ingest-backfill": "HTTP ingest",
    "mqtt": "MQTT ingest",
    "alerts": "obs→alert p99",
    "alerts-full": "obs→alert p99",
}
# --quick: smoke sizes, to try the tool (figures meaningless beyond "it runs").
QUICK: dict[str, list[str]] = {
    "ingest": ["--observations", "60000", "--repeat", "1"],
    "ingest-backfill": ["--observations", "60000", "--repeat", "1"],
    "mqtt": ["--count", "20000"],
    "alerts": ["--probes", "60"],
    "alerts-full": ["--probes", "60"],
}

_N = r"([\d,]+(?:\.\d+)?)"
# Printed-output fallback (a benchmark that wrote no JSON: --base-benchmarks own on an older
# baseline): figure → (unit, better, pattern with the value as its last group).
PRINTED: dict[str, dict[str, tuple[str, str, str]]] = {
    "ingest": {
        "HTTP ingest": ("obs/s", "higher", rf"HTTP ingest, committed[^:]*: {_N} obs/s"),
        "server obs per CPU-second": (
            "obs/CPU-s",
            "higher",
            rf"server CPU: {_N} obs per CPU-second",
        ),
        "floor, per-batch commit": (
            "obs/s",
            "higher",
            rf"floor, executemany, one commit per \d+ rows: {_N} obs/s",
        ),
        "ratio to floor": ("", "higher", rf"ratio to the per-batch floor: {_N}"),
    },
    "mqtt": {
        "MQTT ingest": (
            "msg/s",
            "higher",
            rf"IOC gateway, committed before PUBACK[^:]*: {_N} msg/s",
        ),
        "gateway CPU per message": ("µs", "lower", rf"gateway process CPU {_N} µs/message"),
        "Mosquitto alone": ("msg/s", "higher", rf"Mosquitto alone [^:]*: {_N} msg/s"),
        "ratio to Mosquitto alone": ("", "higher", rf"\({_N} of Mosquitto alone"),
    },
    "alerts": {
        "obs→alert p50": ("ms", "lower", rf"→ SSE alert.* p50 {_N} ms"),
        "obs→alert p95": ("ms", "lower", rf"→ SSE alert.* p95 {_N} ms"),
        "obs→alert p99": ("ms", "lower", rf"→ SSE alert.* p99 {_N} ms"),
        "engine, 1,000 rules by entity": ("µs/obs", "lower", rf"rules by entity: {_N} µs"),
        "engine, 1,000 rules by tag": ("µs/obs", "lower", rf"rules by tag: {_N} µs"),
        "ingest with 1 rule": ("obs/s", "higher", rf"with 1 rule: {_N} obs/s"),
        "ingest with 1,000 rules by entity": (
            "obs/s",
            "higher",
            rf"1,000 rules \(5 rules per series\): {_N} obs/s",
        ),
        "ingest with 1,000 rules by tag": (
            "obs/s",
            "higher",
            rf"1,000 rules \(20 rules per series\): {_N} obs/s",
        ),
    },
}
PRINTED["ingest-backfill"] = PRINTED["ingest"]
PRINTED["alerts-full"] = PRINTED["alerts"]


@dataclass
class Figure:
    unit: str
    better: str
    runs: dict[str, list[float]] = field(default_factory=lambda: {"base": [], "head": []})


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def remove_worktree(path: Path) -> None:
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True
    )
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)


def make_base(sha: str, own_benchmarks: bool) -> Path:
    path = Path(tempfile.gettempdir()) / f"taydo-bench-base-{sha[:12]}"
    if path.exists():
        remove_worktree(path)  # left over from an interrupted run
    git("worktree", "add", "--detach", str(path), sha)
    if not own_benchmarks:
        shutil.rmtree(path / "benchmarks", ignore_errors=True)
        shutil.copytree(
            ROOT / "benchmarks",
            path / "benchmarks",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    # Front-end files copied from node_modules are not in git; no benchmark serves them, but
    # give the baseline the same ones so both servers start alike.
    vendor = Path("src/taydo/web/static/vendor")
    if (ROOT / vendor).is_dir() and not (path / vendor).exists():
        shutil.copytree(ROOT / vendor, path / vendor)
    return path


SITECUSTOMIZE = '''"""Written by benchmarks/compare.py: only the first taydo distribution on
sys.path is seen (this folder's, made from the tree's pyproject.toml), not the venv's."""

import importlib.metadata as _metadata

_distributions = _metadata.distributions


def _first_taydo(**kwargs):
    seen = False
    for dist in _distributions(**kwargs):
        if (dist.metadata["Name"] or "").lower() == "taydo":
            if seen:
                continue
            seen = True
        yield dist


_metadata.distributions = _first_taydo
'''


def overlay(tree: Path, folder: Path) -> Path:
    """A folder with the tree's own ``taydo`` metadata (see the module docstring)."""
    project = tomllib.loads((tree / "pyproject.toml").read_text())["project"]
    version = str(project.get("version", "0"))
    info = folder / f"taydo-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: taydo\nVersion: {version}\n")
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n"
            + "".join(f"{name} = {value}\n" for name, value in entries.items())
            + "\n"
            for group, entries in groups.items()
            if entries
        )
    )
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder


OVERLAYS: dict[Path, Path] = {}


def environment(tree: Path, json_path: Path | None = None) -> dict[str, str]:
    path = os.pathsep.join(map(str, (OVERLAYS[tree], tree, tree / "src")))
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("TAYDO_BENCH_JSON", None)
    if json_path is not None:
        env["TAYDO_BENCH_JSON"] = str(json_path)
    return env


CHECK = """import importlib.metadata, taydo
print(taydo.__file__)
print(" ".join(sorted(ep.name for ep in importlib.metadata.entry_points(group="taydo"))))"""


def imported_from(tree: Path, cwd: Path) -> tuple[Path, str]:
    """Where a child process with this tree's environment imports ``taydo`` from, and the
    names of the plugin entry points it sees."""
    out = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=cwd,
        env=environment(tree),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    where, plugins = out.splitlines()
    return Path(where), plugins


def check_imported(tree: Path, path: str | Path) -> None:
    if not Path(path).resolve().is_relative_to((tree / "src").resolve()):
        raise SystemExit(f"a run for {tree} imported taydo from {path}, not from {tree}/src")


def parse_printed(name: str, text: str) -> dict[str, tuple[float, str, str]]:
    found = {}
    for figure, (unit, better, pattern) in PRINTED.get(name, {}).items():
        match = re.search(pattern, text)
        if match:
            value = float(match.group(match.lastindex or 1).replace(",", ""))
            found[figure] = (value, unit, better)
    return found


def run_one(
    name: str, side: str, tree: Path, args: list[str], out: Path, cwd: Path, round_: int
) -> dict[str, tuple[float, str, str]] | None:
    json_path = out / f"{name}-{round_}-{side}.json"
    log = out / f"{name}-{round_}-{side}.log"
    command = [sys.executable, "-m", *args]
    began = time.monotonic()
    with log.open("w") as handle:
        returncode = subprocess.run(
            command,
            cwd=cwd,
            env=environment(tree, json_path),
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    elapsed = time.monotonic() - began
    text = log.read_text()
    if returncode != 0:
        tail = "\n".join(f"     {line}" for line in text.splitlines()[-15:])
        print(f"  !! {name} {side} failed (exit {returncode}); see {log}\n{tail}", flush=True)
        return None
    if json_path.exists():
        document = orjson.loads(json_path.read_bytes())
        check_imported(tree, document["taydo"])
        figures = {
            figure: (item["value"], item["unit"], item["better"])
            for figure, item in document["figures"].items()
        }
        source = "json"
    else:
        figures = parse_printed(name, text)
        source = "printed output"
    if not figures:
        print(f"  !! {name} {side}: no figures found; see {log}", flush=True)
        return None
    figure = HEADLINE[name] if HEADLINE[name] in figures else next(iter(figures))
    value, unit, _better = figures[figure]
    print(
        f"  round {round_} {name:<8} {side}: {figure} {fmt(value)} {unit} "
        f"({elapsed:.0f} s, from {source})",
        flush=True,
    )
    return figures


def fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: dict[str, dict[str, Figure]], rounds: int) -> list[list[str]]:
    rows = [
        ["benchmark", "figure", "base median", "base runs", "head median", "head runs", "head/base"]
    ]
    if rounds > 1:
        rows[0].append("runs overlap")
    for name, figures in results.items():
        for figure, data in figures.items():
            base, head = data.runs["base"], data.runs["head"]
            label = f"{figure} ({data.unit + ', ' if data.unit else ''}{data.better} is better)"
            row = [name, label]
            for values in (base, head):
                row.append(fmt(statistics.median(values)) if values else "—")
                row.append(", ".join(fmt(v) for v in values) or "—")
            if base and head and statistics.median(base):
                row.append(f"{statistics.median(head) / statistics.median(base):.3f}")
            else:
                row.append("—")
            if rounds > 1:
                overlap = bool(base and head) and max(base) >= min(head) and max(head) >= min(base)
                row.append("yes" if overlap else "no")
            rows.append(row)
    return rows


def print_table(rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(rows[0]) + " |")
        print("|" + "---|" * len(rows[0]))
        for row in rows[1:]:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * width for width in widths))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: {' '.join(DEFAULT)}; known: {', '.join(BENCHMARKS)})",
    )
    parser.add_argument("--base", default="main", help="git revision of the baseline (main)")
    parser.add_argument("--rounds", type=int, default=3, help="base/head pairs per benchmark")
    parser.add_argument("--quick", action="store_true", help="smoke sizes: " + str(QUICK))
    parser.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help='extra arguments for one benchmark, both trees, e.g. mqtt="--count 50000"',
    )
    parser.add_argument(
        "--base-benchmarks",
        choices=("head", "own"),
        default="head",
        help="head (default): the baseline runs this tree's benchmarks/; own: its own",
    )
    parser.add_argument("--out", type=Path, help="folder for each run's log and JSON")
    parser.add_argument("--keep", action="store_true", help="leave the baseline worktree")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    options = parser.parse_args()

    chosen = options.benchmarks or DEFAULT
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    extra: dict[str, list[str]] = {name: [] for name in chosen}
    for item in options.args:
        name, _, args = item.partition("=")
        if name not in extra:
            parser.error(f"--args {item!r}: {name!r} is not among the chosen benchmarks")
        extra[name] += shlex.split(args)
    commands = {
        name: BENCHMARKS[name] + (QUICK[name] if options.quick else []) + extra[name]
        for name in chosen
    }

    sha = git("rev-parse", "--verify", f"{options.base}^{{commit}}")
    head_sha = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    out = options.out or Path(tempfile.mkdtemp(prefix="taydo-bench-compare-"))
    out.mkdir(parents=True, exist_ok=True)
    cwd = out / "cwd"  # empty: no taydo.toml, nothing importable
    cwd.mkdir(exist_ok=True)

    print(f"base: {options.base} = {git('log', '-1', '--format=%h %s', sha)[:100]}")
    print(
        f"head: {ROOT} at {git('log', '-1', '--format=%h %s', head_sha)[:90]}"
        + (" + uncommitted changes" if dirty else "")
    )
    print(
        f"python: {sys.executable}; {os.cpu_count()} CPU, "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )
    base = make_base(sha, own_benchmarks=options.base_benchmarks == "own")
    results: dict[str, dict[str, Figure]] = {name: {} for name in chosen}
    failed = 0
    try:
        trees = {"base": base, "head": ROOT}
        for side, tree in trees.items():
            OVERLAYS[tree] = overlay(tree, out / f"metadata-{side}")
            where, plugins = imported_from(tree, cwd)
            check_imported(tree, where)
            print(f"{side} tree: {tree}; a child imports taydo from {where}, plugins: {plugins}")
        print(
            "benchmarks: "
            + (
                "this tree's benchmarks/, copied into the baseline"
                if options.base_benchmarks == "head"
                else "each tree its own benchmarks/"
            )
            + f"; logs and JSON in {out}"
        )
        for name in chosen:
            print(f"  {name}: python -m {' '.join(commands[name])}")
        for round_ in range(1, options.rounds + 1):
            for name in chosen:
                for side, tree in trees.items():
                    figures = run_one(name, side, tree, commands[name], out, cwd, round_)
                    if figures is None:
                        failed += 1
                        continue
                    for figure, (value, unit, better) in figures.items():
                        entry = results[name].setdefault(figure, Figure(unit, better))
                        entry.runs[side].append(value)
    except KeyboardInterrupt:
        print("interrupted; figures so far:")
    finally:
        if options.keep:
            print(f"baseline worktree kept: {base}")
        else:
            remove_worktree(base)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; medians of each side's runs:\n")
    print_table(table(results, options.rounds), options.markdown)
    if failed:
        print(f"\n{failed} run(s) failed; see {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
