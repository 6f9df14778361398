"""Colours of the console (issue 16, item 5): WCAG AA contrast for text and badges, official
scales in their official colours, and alert severities in a visual language of their own.

The unit tests read console.css and station.css: each rule that sets a background and (or
inherits from ``.badge``) a text colour is a pair whose contrast is computed with the WCAG 2.x
relative-luminance formula written here. The browser test walks the badges rendered on the
overview, the alerts list and the station page and computes the same from computed styles.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser import browser, live  # the console's server and browser fixtures

__all__ = ["browser", "live"]  # fixtures, imported for pytest

CSS = Path(__file__).resolve().parents[2] / "src" / "taydo" / "web" / "static" / "css"
AA_TEXT = 4.5  # WCAG 2.x 1.4.3, normal text (badges are .8rem bold: normal text)
AA_LARGE = 3.0  # large text (≥ 24 px, or ≥ 18.66 px bold) and graphics (1.4.11)


# ---------------------------------------------------------------- WCAG formula


def _channel(value: float) -> float:
    """sRGB channel (0–1) to linear light (WCAG 2.x relative luminance)."""
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = (_channel(c / 255) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def hex_rgb(text: str) -> tuple[float, float, float]:
    value = text.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", value), f"not a colour: {text!r}"
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def test_the_formula_gives_the_known_ratios() -> None:
    assert contrast(hex_rgb("#fff"), hex_rgb("#000")) == pytest.approx(21.0)
    assert contrast(hex_rgb("#fff"), hex_rgb("#fff")) == pytest.approx(1.0)
    assert contrast(hex_rgb("#777777"), hex_rgb("#ffffff")) == pytest.approx(4.48, abs=0.01)
    # The pair the issue names: white on the old "Theo dõi" yellow, 1.59:1.
    assert contrast(hex_rgb("#ffffff"), hex_rgb("#f2c94c")) == pytest.approx(1.59, abs=0.01)


# ---------------------------------------------------------------- reading the CSS


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every plain rule, @media blocks included."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selector, body in re.findall(r"([^{}@]+)\{([^{}]*)\}", css):
        declarations = {}
        for item in body.split(";"):
            if ":" in item:
                name, value = item.split(":", 1)
                declarations[name.strip()] = value.strip()
        out.append((" ".join(selector.split()), declarations))
    return out


def _variables(rules: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    return {
        k: v for sel, decls in rules if sel == ":root" for k, v in decls.items() if k[:2] == "--"
    }


def _resolve(value: str, variables: dict[str, str]) -> str | None:
    """A colour value as #hex (var() followed), or None for what is not a plain colour."""
    for _ in range(5):
        found = re.fullmatch(r"var\((--[\w-]+)(?:,\s*([^)]+))?\)", value.strip())
        if not found:
            break
        value = variables.get(found.group(1)) or found.group(2) or ""
    value = value.strip()
    if value.lower() in ("#fff", "#ffffff", "white"):
        return "#ffffff"
    if value.lower() in ("#000", "#000000", "black"):
        return "#000000"
    return value if re.fullmatch(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?", value) else None


BADGE_CLASSES = re.compile(
    r"\.(badge|sev-|state-|health-|report-|status-|score-|upload-|aqi-)[\w-]*"
)


def _pairs(*names: str) -> list[tuple[str, str, str]]:
    """(selector, text, background) of every badge-like rule with a background colour."""
    rules: list[tuple[str, dict[str, str]]] = []
    for name in names:
        rules += _rules((CSS / name).read_text(encoding="utf-8"))
    variables = _variables(rules)
    # Custom properties set by a class (kpi.css: .st-grey { --st: … }) apply where it does.
    scoped: dict[str, dict[str, str]] = {}
    for selector, decls in rules:
        for one in selector.split(","):
            if re.fullmatch(r"\.[\w-]+", one.strip()):
                own = {k: v for k, v in decls.items() if k.startswith("--")}
                scoped.setdefault(one.strip(), {}).update(own)
    base = dict(next(d for s, d in rules if s == ".badge"))
    pairs = []
    for selector, decls in rules:
        background = decls.get("background") or decls.get("background-color")
        if not background or "::" in selector:
            continue
        for one in selector.split(","):
            one = one.strip()
            # A badge, or a state class used as a badge (it then inherits .badge's white text).
            if not BADGE_CLASSES.search(one) or ".leaflet" in one or "cluster" in one:
                continue
            text = decls.get("color") or base["color"]
            local = dict(variables)
            for cls in re.findall(r"\.[\w-]+", one):
                local.update(scoped.get(cls, {}))
            fg, bg = _resolve(text, local), _resolve(background, local)
            if fg and bg:
                pairs.append((one, fg, bg))
    return pairs


def test_every_badge_colour_pair_meets_wcag_aa() -> None:
    pairs = _pairs("console.css", "station.css", "kpi.css", "directives.css")
    assert len(pairs) > 30  # the parser did find the badges
    failing = [
        f"{sel}: {fg} on {bg} = {contrast(hex_rgb(fg), hex_rgb(bg)):.2f}:1"
        for sel, fg, bg in pairs
        if contrast(hex_rgb(fg), hex_rgb(bg)) < AA_TEXT
    ]
    assert failing == [], "\n".join(failing)


def test_page_text_colours_meet_wcag_aa() -> None:
    rules = _rules((CSS / "console.css").read_text(encoding="utf-8"))
    v = _variables(rules)

    def colour(name: str) -> tuple[float, float, float]:
        found = _resolve(f"var({name})", v)
        assert found, name
        return hex_rgb(found)

    pairs = {
        "ink on page": (colour("--ink"), colour("--bg")),
        "ink on card": (colour("--ink"), colour("--card")),
        "muted on card": (colour("--muted"), colour("--card")),
        "muted on page": (colour("--muted"), colour("--bg")),
        "link on page": (colour("--brand"), colour("--bg")),
        "top bar": (colour("--brand-ink"), colour("--brand")),
        "error text": (colour("--bad"), colour("--card")),
        "counter label": (colour("--muted"), hex_rgb("#fafbfc")),
        "hot counter label": (colour("--muted"), hex_rgb("#fdecea")),
    }
    for severity in ("info", "watch", "warning", "danger"):
        pairs[f"{severity} badge"] = (colour(f"--sev-{severity}"), colour(f"--sev-{severity}-bg"))
        # The border and the feed's stripe are graphics: 3:1 against the card.
        assert contrast(colour(f"--sev-{severity}"), colour("--card")) >= AA_LARGE, severity
    pairs["emergency badge"] = (colour("--sev-emergency-ink"), colour("--sev-emergency-bg"))
    failing = {
        k: round(contrast(a, b), 2) for k, (a, b) in pairs.items() if contrast(a, b) < AA_TEXT
    }
    assert failing == {}


def test_severities_never_look_like_an_official_scale() -> None:
    """Official scales keep their colours (BĐ levels, VN_AQI, risk levels); a severity badge
    has its own shape (pill, border), an icon, and none of the scales' fill colours."""
    from taydo.console.overview import LEVEL_STATES
    from taydo.rules.choices import AQI_BANDS, RISK_LEVELS, SEVERITIES

    official = {s.colour.lower() for s in LEVEL_STATES if s.code.startswith("level")}
    official |= {c.colour.lower() for _upper, c in AQI_BANDS}
    official |= {c.colour.lower() for c in RISK_LEVELS}
    assert {"#fdd835", "#fb8c00", "#e53935"} <= official  # BĐ1–BĐ3 as the map and chart draw

    rules = _rules((CSS / "console.css").read_text(encoding="utf-8"))
    variables = _variables(rules)
    shape = next(d for s, d in rules if s == '.badge[class*="sev-"]')
    assert shape["border-radius"] == "999px" and "solid" in shape["border"]
    icons = set()
    for choice in SEVERITIES:
        fill = next(d for s, d in rules if s == f".badge.sev-{choice.code}")["background"]
        assert (_resolve(fill, variables) or "").lower() not in official, choice.code
        icon = next(d for s, d in rules if s == f".badge.sev-{choice.code}::before")["content"]
        icons.add(icon)
    assert len(icons) == len(SEVERITIES)  # one icon per severity: told apart without colour

    # The official scales keep their official colours (station.css: VN_AQI bands).
    station = dict(_rules((CSS / "station.css").read_text(encoding="utf-8")))
    for _upper, band in AQI_BANDS:
        assert station[f".badge.aqi-{band.code}"]["background"].lower() == band.colour.lower()


# ---------------------------------------------------------------- rendered badges

# Every visible badge: its text, computed colour, the first opaque background behind it (the
# badge's own or an ancestor's), its size and weight, and whether it carries an icon.
BADGES = """() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const out = [];
  for (const el of document.querySelectorAll(".badge")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
    let bg = null;
    for (let node = el; node && !bg; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) bg = c.slice(0, 3);
    }
    const style = getComputedStyle(el);
    out.push({
      text: el.textContent.trim().slice(0, 30), cls: el.className,
      fg: rgb(style.color).slice(0, 3), bg: bg || [255, 255, 255],
      size: parseFloat(style.fontSize), weight: parseInt(style.fontWeight, 10),
      icon: getComputedStyle(el, "::before").content, radius: style.borderTopLeftRadius,
    });
  }
  return out;
}"""


@pytest.mark.browser
def test_rendered_badges_meet_wcag_aa(browser: Any, live: Any) -> None:
    from tests.web.test_browser import CHROMIUM, STATION, _login, _page, _post_level

    if not CHROMIUM.exists():
        pytest.skip("headless Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import expect

    _post_level(live, 2.3)  # above Báo động 3: a danger alarm on every page below
    page = _page(browser, live)
    _login(page, live, "operator")
    seen: list[dict[str, Any]] = []
    for path in ("/", "/alerts?open=all", f"/entities/{STATION}"):
        page.goto(live.base + path)
        expect(page.locator(".badge.sev-danger").first).to_be_visible()
        found = page.evaluate(BADGES)
        assert found, f"no badge on {path}"
        seen += [{**b, "page": path} for b in found]
    page.context.close()

    failing = []
    for badge in seen:
        large = badge["size"] >= 24 or (badge["size"] >= 18.66 and badge["weight"] >= 700)
        ratio = contrast(tuple(badge["fg"]), tuple(badge["bg"]))  # type: ignore[arg-type]
        if ratio < (AA_LARGE if large else AA_TEXT):
            failing.append(f"{badge['page']} {badge['cls']} {badge['text']!r}: {ratio:.2f}:1")
    assert failing == [], "\n".join(failing)
    # Severity badges carry an icon and the pill shape wherever they are drawn.
    severities = [b for b in seen if re.search(r"\bsev-", b["cls"])]
    assert len({b["page"] for b in severities}) == 3
    for badge in severities:
        assert badge["icon"] not in ("none", "normal", ""), badge
        assert badge["radius"] != "4px", badge
