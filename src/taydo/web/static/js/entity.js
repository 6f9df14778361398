// Entity (station) page: one ECharts chart per metric (instances reused when the range
// changes), the alarm levels drawn as lines, and a location mini-map without tiles.
//
// Each bucket is drawn as its highest value with the min–max band behind it: an average would
// hide a short peak above an alarm level (issue 16). Times are shown in the display time zone
// the server names, whatever the browser's zone: points are shifted by their own UTC offset
// (the API writes it in each time) and the chart formats them as UTC. Tooltips are plain text
// drawn in the canvas (renderMode "richText"): the page's CSP forbids the inline styles of
// ECharts' HTML tooltips.
(function () {
  "use strict";
  const root = document.getElementById("entity");
  if (!root) return;
  const entity = root.dataset.entity;
  const ranges = JSON.parse(root.dataset.ranges || "[]");
  const bands = JSON.parse(root.dataset.aqiBands || "[]");
  const english = root.dataset.locale === "en";
  const zone = root.dataset.tz || "UTC";
  const LEVEL_COLOURS = { "1": "#fdd835", "2": "#fb8c00", "3": "#e53935" };
  // Labels sit right of the plot, each at its line, pushed apart when levels are close (BĐ1–3
  // are often 0.1 m apart): the plot itself stays clear for the data.
  const LABEL_GAP = 15; // px between label centres (12 px text)
  const WORDS = english
    ? { high: "Highest", low: "Lowest", level: "Alarm level ", none: "No data" }
    : { high: "Cao nhất", low: "Thấp nhất", level: "Báo động ", none: "Chưa có số liệu" };
  const numberFormat = new Intl.NumberFormat(english ? "en-GB" : "vi-VN", { maximumFractionDigits: 2 });
  const charts = [];
  let current = null; // the range shown, reloaded when new values arrive

  // The offset (ms) of the display zone at an instant, from Intl (no library needed).
  const partsFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  function zoneOffset(ms) {
    const p = {};
    partsFormat.formatToParts(new Date(ms)).forEach((part) => { p[part.type] = part.value; });
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return wall - (ms - (ms % 1000));
  }
  // "2026-12-03T20:00:00+07:00" -> the instant shifted to its wall-clock time, as if UTC.
  function wallTime(text) {
    const instant = Date.parse(text);
    const match = /([+-])(\d\d):(\d\d)$/.exec(text);
    if (!match) return instant;
    const minutes = (+match[2]) * 60 + (+match[3]);
    return instant + (match[1] === "-" ? -minutes : minutes) * 60000;
  }
  const pad = (n) => String(n).padStart(2, "0");
  function showDay(wall) {
    const d = new Date(wall);
    return pad(d.getUTCDate()) + "/" + pad(d.getUTCMonth() + 1) + "/" + d.getUTCFullYear();
  }
  function showClock(wall) {
    const d = new Date(wall);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function axisLabel(wall) {
    const d = new Date(wall);
    if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0) {
      return pad(d.getUTCDate()) + "/" + pad(d.getUTCMonth() + 1);
    }
    return showClock(wall);
  }

  function bandOf(value) {
    return bands.find((b) => b.to === null || value <= b.to) || bands[bands.length - 1];
  }

  function levelKeys(levels) {
    return Object.keys(levels || {}).sort((a, b) => levels[a] - levels[b]);
  }

  function levelLines(levels, unit, shifts) {
    return levelKeys(levels).map((key, index) => ({
      yAxis: levels[key],
      name: "BĐ" + key,
      lineStyle: { color: LEVEL_COLOURS[key] || "#e53935", type: "dashed", width: 2 },
      label: {
        formatter: "BĐ" + key + " " + numberFormat.format(levels[key]) + " " + unit,
        position: "end", distance: 6, offset: [0, shifts ? shifts[index] : 0],
        color: "#1b2a3a",
      },
    }));
  }

  // Vertical shifts (px) that keep the labels LABEL_GAP apart, the lowest level's at its line.
  function labelShifts(chart, levels) {
    let previous = Infinity;
    return levelKeys(levels).map((key) => {
      const y = chart.convertToPixel({ yAxisIndex: 0 }, levels[key]);
      const placed = Math.min(y, previous - LABEL_GAP);
      previous = placed;
      return placed - y;
    });
  }

  function aqiOptions() {
    // The official band colours: the line and its markers take their band's colour.
    return {
      visualMap: {
        type: "piecewise", seriesIndex: 2, dimension: 1, orient: "horizontal", top: 0, left: "center",
        itemWidth: 14, itemHeight: 10, textStyle: { fontSize: 11 },
        pieces: bands.map((b, i) => ({
          [i === 0 ? "gte" : "gt"]: b.from, lte: b.to === null ? undefined : b.to, color: b.colour,
          label: english ? b.en : b.vi,
        })),
      },
    };
  }

  function fetchSeries(metric, range, start, end, agg) {
    const url = "/api/v1/entities/" + encodeURIComponent(entity) + "/series/" +
      encodeURIComponent(metric) + "?from=" + start + "&to=" + end +
      "&bucket=" + range.bucket + "&agg=" + agg;
    return fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : { points: [] }));
  }

  function draw(item, start, end, highs, lows) {
    const { el, chart, levels } = item;
    const unit = el.dataset.unit || "";
    const isAqi = el.dataset.aqi === "true";
    const low = new Map(lows.map((p) => [p.t, p.v]));
    const points = highs.map((p) => ({ x: wallTime(p.t), high: p.v, low: low.has(p.t) ? low.get(p.t) : p.v }));
    item.points = points;
    const byX = new Map(points.map((p) => [p.x, p]));
    const maxLevel = Math.max(...Object.values(levels).map(Number), -Infinity);
    const show = (v) => numberFormat.format(v) + (unit ? " " + unit : "");
    const option = {
      animation: false,
      useUTC: true, // the points are already shifted to the display zone's wall-clock time
      grid: { left: 50, right: Object.keys(levels).length ? 96 : 20, top: isAqi ? 34 : 24, bottom: 30 },
      tooltip: {
        trigger: "axis", renderMode: "richText", confine: true,
        formatter: (params) => {
          const first = Array.isArray(params) ? params[0] : params;
          const p = first && byX.get(first.value[0]);
          if (!p) return "";
          const lines = [showDay(p.x) + " " + showClock(p.x) + " (" + root.dataset.zoneOffset + ")"];
          if (isAqi) {
            const band = bandOf(p.high);
            lines.push(WORDS.high + ": " + numberFormat.format(p.high) + " — " + (english ? band.en : band.vi));
          } else {
            lines.push(WORDS.high + ": " + show(p.high));
          }
          if (p.low !== p.high) lines.push(WORDS.low + ": " + show(p.low));
          return lines.join("\n");
        },
      },
      xAxis: {
        type: "time", min: start + zoneOffset(start), max: end + zoneOffset(end),
        axisLabel: { formatter: axisLabel, hideOverlap: true },
      },
      yAxis: {
        type: "value", scale: !isAqi, min: isAqi ? 0 : undefined, name: unit,
        max: (v) => Math.max(v.max, isFinite(maxLevel) ? maxLevel * 1.05 : v.max),
      },
      series: [
        { // the band: its lower edge (invisible) and its height, stacked on it
          type: "line", stack: "band", data: points.map((p) => [p.x, p.low]), showSymbol: false,
          lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false },
        },
        {
          type: "line", stack: "band", data: points.map((p) => [p.x, p.high - p.low]), showSymbol: false,
          lineStyle: { opacity: 0 }, areaStyle: { color: "#0b5d8c", opacity: 0.18 }, silent: true,
        },
        {
          type: "line", name: el.dataset.label, data: points.map((p) => [p.x, p.high]),
          showSymbol: isAqi || points.length < 60, symbolSize: isAqi ? 6 : 4,
          // AQI: no colour of its own, the band colours of the visual map apply.
          lineStyle: isAqi ? { width: 2 } : { color: "#0b5d8c", width: 2 },
          itemStyle: isAqi ? {} : { color: "#0b5d8c" },
          markLine: { symbol: "none", silent: true, data: levelLines(levels, unit) },
        },
      ],
    };
    if (isAqi) Object.assign(option, aqiOptions());
    chart.setOption(option, { replaceMerge: ["series"] });
    item.option = option;
    placeLabels(item); // the axis is laid out now
  }

  function placeLabels(item) {
    const { chart, levels, option, el } = item;
    if (!option || !Object.keys(levels).length) return;
    option.series[2].markLine.data = levelLines(levels, el.dataset.unit || "", labelShifts(chart, levels));
    chart.setOption(option, { replaceMerge: ["series"] });
  }

  function load(range) {
    current = range;
    const end = Date.now();
    const start = end - range.ms;
    charts.forEach((item) => {
      const { el, chart } = item;
      if (!item.drawn) chart.showLoading(); // a live reload keeps the old picture
      Promise.all([
        fetchSeries(el.dataset.metric, range, start, end, "max"),
        fetchSeries(el.dataset.metric, range, start, end, "min"),
      ]).then(([highs, lows]) => {
        chart.hideLoading();
        draw(item, start, end, highs.points || [], lows.points || []);
        item.drawn = true;
        el.dataset.drawn = range.code; // for tests and screen readers' scripts: what is shown
      }).catch(() => chart.hideLoading());
    });
  }

  function choose(code, remember) {
    const range = ranges.find((r) => r.code === code) || ranges.find((r) => r.code === "24h") || ranges[0];
    root.querySelectorAll("button.range").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.range === range.code)));
    if (remember) {
      // Kept in the address: a reload, a bookmark or a shared link shows the same range.
      const url = new URL(window.location.href);
      url.searchParams.set("range", range.code);
      window.history.replaceState(null, "", url.toString());
    }
    load(range);
  }

  document.addEventListener("DOMContentLoaded", () => {
    root.dataset.zoneOffset = (() => {
      const minutes = Math.round(zoneOffset(Date.now()) / 60000);
      const h = Math.floor(Math.abs(minutes) / 60);
      const m = Math.abs(minutes) % 60;
      return "UTC" + (minutes < 0 ? "-" : "+") + h + (m ? ":" + pad(m) : "");
    })();
    if (typeof echarts !== "undefined") {
      root.querySelectorAll(".chart").forEach((el) => {
        const chart = echarts.init(el, null, { renderer: "canvas" });
        charts.push({ el, chart, levels: JSON.parse(el.dataset.levels || "{}"), drawn: false, points: [] });
      });
      window.addEventListener("resize", () => charts.forEach((c) => { c.chart.resize(); placeLabels(c); }));
    }
    root.querySelectorAll("button.range").forEach((button) => button.addEventListener("click", () => choose(button.dataset.range, true)));
    const asked = new URL(window.location.href).searchParams.get("range");
    choose(asked || root.dataset.range || "24h", false);

    // Live: a new value updates its card at once and the chart within a few seconds (one
    // reload of the shown range for any number of values arriving together).
    const timeFormat = new Intl.DateTimeFormat("vi-VN", {
      timeZone: zone, day: "2-digit", month: "2-digit", year: "numeric",
      hour: "2-digit", minute: "2-digit", hour12: false,
    });
    let reload = null;
    document.body.addEventListener("taydo:value", (event) => {
      const point = event.detail || {};
      if (point.entity_id !== entity || typeof point.value !== "number") return;
      root.querySelectorAll(".metric[data-latest]").forEach((card) => {
        if (card.dataset.latest !== point.metric) return;
        if (card.dataset.ts && Number(card.dataset.ts) > point.ts) return;
        card.dataset.ts = String(point.ts);
        const number = card.querySelector(".number");
        const when = card.querySelector(".when");
        const aqi = card.classList.contains("aqi");
        if (number) number.textContent = aqi ? point.value.toFixed(0) : point.value.toFixed(2);
        if (when) when.textContent = timeFormat.format(new Date(point.ts)).replace(",", "");
        const badge = card.querySelector(".aqi-band");
        if (aqi && badge && bands.length) {
          const band = bandOf(point.value);
          bands.forEach((b) => { card.classList.remove("aqi-" + b.code); badge.classList.remove("aqi-" + b.code); });
          card.classList.add("aqi-" + band.code);
          badge.classList.add("aqi-" + band.code);
          badge.textContent = english ? band.en : band.vi;
          badge.hidden = false;
        }
      });
      if (current && reload === null) reload = setTimeout(() => { reload = null; load(current); }, 1500);
    });

    const lat = parseFloat(root.dataset.lat);
    const lon = parseFloat(root.dataset.lon);
    if (typeof L !== "undefined" && isFinite(lat) && isFinite(lon)) {
      const map = L.map("minimap", { preferCanvas: true, attributionControl: false, zoomControl: false, maxZoom: 18 })
        .setView([lat, lon], 13);
      if (root.dataset.area) {
        fetch("/console/areas.geojson?area=" + encodeURIComponent(root.dataset.area), { credentials: "same-origin" })
          .then((r) => (r.ok ? r.json() : null))
          .then((geo) => {
            if (geo && geo.features && geo.features.length) {
              L.geoJSON(geo, { style: { color: "#7b8fa3", weight: 1, fillColor: "#eef1e6", fillOpacity: 1 }, interactive: false }).addTo(map).bringToBack();
            }
          }).catch(() => {});
      }
      L.circleMarker([lat, lon], { radius: 8, color: "#1b2a3a", fillColor: "#0b5d8c", fillOpacity: 1 }).addTo(map);
    }
  });
})();
