// The wall (/?wall=1, issue 16 item 2): a clock in the display time zone, the panels that take
// turns (the focus chart and the legend), the map's view moving between the hot spots and the
// whole city, and a focus chart of the most severe stations, read from the same JSON API as the
// station page (/api/v1/entities/{id}/series/{metric}, highest value per bucket so a peak above
// an alarm level stays visible). Sizes follow the root font size, which console.css scales with
// the screen. overview.js owns the map and calls TaydoWall.start() once it is built.
(function () {
  "use strict";
  const root = document.getElementById("overview");
  if (!root || root.dataset.wall !== "1") return;

  const english = root.dataset.locale === "en";
  const zone = root.dataset.tz || "Asia/Ho_Chi_Minh";
  const DAYS = english
    ? ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    : ["Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];
  const WORDS = english
    ? { level: "Alarm level ", high: "Highest", none: "No data in the last 24 hours", since: "last 24 hours, highest value per 15 minutes" }
    : { level: "Báo động ", high: "Cao nhất", none: "Không có số liệu trong 24 giờ qua", since: "24 giờ qua, giá trị cao nhất mỗi 15 phút" };
  const LEVEL_COLOURS = { "1": "#fdd835", "2": "#fb8c00", "3": "#e53935" };
  const UNITS = { MTR: "m", CMT: "cm", CEL: "°C", P1: "%", "": "" };
  const pad = (n) => String(n).padStart(2, "0");

  // ------------------------------------------------------------------ clock
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, hourCycle: "h23", weekday: "short", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  const WEEKDAY = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
  function clockText(ms) {
    const p = {};
    parts.formatToParts(new Date(ms)).forEach((part) => { p[part.type] = part.value; });
    return DAYS[WEEKDAY[p.weekday]] + ", " + p.day + "/" + p.month + "/" + p.year + " " + p.hour + ":" + p.minute;
  }
  const clock = document.getElementById("wall-clock");
  function tick() {
    if (!clock) return;
    const now = Date.now();
    const text = clockText(now);
    if (clock.textContent !== text) clock.textContent = text;
    clock.setAttribute("datetime", new Date(now - (now % 60000)).toISOString());
  }
  tick();
  setInterval(tick, 1000);

  // ------------------------------------------------------------------ focus chart
  const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const chartEl = document.getElementById("focus-chart");
  const title = document.getElementById("focus-title");
  const meta = document.getElementById("focus-meta");
  const empty = document.getElementById("focus-empty");
  const defaultTitle = title ? title.textContent : "";
  let chart = null;
  let turn = -1;

  // The most severe stations first: the cards are sorted by severity, then time.
  function candidates() {
    const seen = new Set();
    const out = [];
    document.querySelectorAll("#feed li.feed-item[data-entity]").forEach((card) => {
      const entity = card.dataset.entity;
      const metric = card.dataset.metric;
      if (!entity || entity === "None" || !metric) return;
      const key = entity + "|" + metric;
      if (seen.has(key) || out.length >= 3) return;
      seen.add(key);
      out.push({ entity, metric, severity: (card.className.match(/sev-(\w+)/) || [])[1] || "" });
    });
    return out;
  }

  // "2026-12-03T20:00:00+07:00" -> that instant shifted to its wall-clock time, drawn as UTC.
  function wallTime(text) {
    const instant = Date.parse(text);
    const match = /([+-])(\d\d):(\d\d)$/.exec(text);
    if (!match) return instant;
    const minutes = (+match[2]) * 60 + (+match[3]);
    return instant + (match[1] === "-" ? -minutes : minutes) * 60000;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
  }

  function showEmpty(on) {
    if (empty) empty.hidden = !on;
    if (chartEl) chartEl.hidden = on;
    if (on && title) title.textContent = defaultTitle;
    if (on && meta) meta.textContent = "";
    if (on && chartEl) delete chartEl.dataset.entity;
  }

  function draw(entity, series) {
    if (typeof echarts === "undefined" || !chartEl) return;
    const size = rem();
    const levels = (entity.attributes && entity.attributes.alarm_levels) || {};
    const unit = UNITS[series.unit] !== undefined ? UNITS[series.unit] : series.unit;
    const points = (series.points || []).map((p) => [wallTime(p.t), p.v]);
    const number = new Intl.NumberFormat(english ? "en-GB" : "vi-VN", { maximumFractionDigits: 2 });
    if (title) title.textContent = entity.name;
    if (!points.length) {
      // Nothing to draw: say so rather than show empty axes.
      chartEl.hidden = true;
      if (meta) meta.textContent = WORDS.none;
      return;
    }
    chartEl.hidden = false;
    if (!chart) chart = echarts.init(chartEl, null, { renderer: "canvas" });
    const keys = series.metric === "height" ? Object.keys(levels).sort((a, b) => levels[a] - levels[b]) : [];
    const text = { fontSize: Math.round(size * 0.9), color: "#1b2a3a" };
    chart.setOption({
      animation: false,
      useUTC: true,
      grid: { left: size * 4, right: keys.length ? size * 5.5 : size, top: size, bottom: size * 2.2 },
      xAxis: {
        type: "time", axisLabel: { ...text, hideOverlap: true,
          formatter: (v) => { const d = new Date(v); return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()); } },
      },
      // The alarm levels stay in view: how far the water is from them is the point.
      yAxis: { type: "value", scale: true, axisLabel: text,
        max: keys.length ? (v) => Math.max(v.max, levels[keys[keys.length - 1]]) : undefined, splitLine: { lineStyle: { color: "#d5dde5" } } },
      series: [{
        type: "line", showSymbol: false, data: points, lineStyle: { width: Math.max(3, size / 6), color: "#0b5d8c" },
        areaStyle: { color: "rgba(11,93,140,.12)" },
        markLine: keys.length ? {
          symbol: "none", silent: true,
          data: keys.map((k) => ({
            yAxis: levels[k],
            lineStyle: { color: LEVEL_COLOURS[k] || "#e53935", type: "dashed", width: Math.max(3, size / 8) },
            label: { formatter: "BĐ" + k, position: "end", ...text, fontWeight: "bold" },
          })),
        } : undefined,
      }],
    }, true);
    chart.resize();
    const peak = points.reduce((m, p) => (m === null || p[1] > m ? p[1] : m), null);
    if (meta) meta.textContent = WORDS.high + ": " + number.format(peak) + (unit ? " " + unit : "") + " · " + WORDS.since;
  }

  function focusNext() {
    const found = candidates();
    if (!found.length) { showEmpty(true); return Promise.resolve(); }
    turn = (turn + 1) % found.length;
    const pick = found[turn];
    const end = Date.now();
    const start = end - 24 * 3600000;
    const base = "/api/v1/entities/" + encodeURIComponent(pick.entity);
    return Promise.all([
      getJSON(base),
      getJSON(base + "/series/" + encodeURIComponent(pick.metric) + "?from=" + start + "&to=" + end + "&bucket=15m&agg=max"),
    ]).then(([entity, series]) => {
      showEmpty(false);
      chartEl.dataset.entity = pick.entity;
      draw(entity, series);
    }).catch(() => { showEmpty(true); });
  }

  // ------------------------------------------------------------------ turns
  function start(map) {
    const panels = Array.from(root.querySelectorAll("[data-panel]"));
    let index = 0;
    const show = () => panels.forEach((p, i) => p.classList.toggle("wall-hidden", i !== index));
    show();
    focusNext();
    window.addEventListener("resize", () => { if (chart) chart.resize(); });
    // A new alarm may change who is most severe: look again (at most every few seconds).
    let again = null;
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (!event.target || event.target.id !== "feed" || again !== null) return;
      again = setTimeout(() => { again = null; turn = -1; if (panels[index].dataset.panel === "focus") focusNext(); }, 2000);
    });
    setInterval(() => {
      index = (index + 1) % panels.length;
      show();
      if (panels[index].dataset.panel === "focus") focusNext();
      if (map) map.fly(index % 2 === 0);
    }, (parseInt(root.dataset.cycle, 10) || 15) * 1000);
  }

  window.TaydoWall = {
    // Circle markers readable from 3–5 m: about a third of the root font size.
    markerRadius: () => Math.max(7, Math.round(rem() / 2.5)),
    start,
  };
})();
