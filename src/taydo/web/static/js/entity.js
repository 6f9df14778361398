// Entity page: one ECharts chart per metric (instances reused when the range changes), the
// alarm levels drawn as lines, and a location mini-map without tiles.
(function () {
  "use strict";
  const root = document.getElementById("entity");
  if (!root) return;
  const entity = root.dataset.entity;
  const ranges = JSON.parse(root.dataset.ranges || "[]");
  const LEVEL_COLOURS = { "1": "#fdd835", "2": "#fb8c00", "3": "#e53935" };
  const charts = [];
  let current = null; // the range shown, reloaded when new values arrive

  function levelLines(levels) {
    return Object.keys(levels || {}).sort().map((key) => ({
      yAxis: levels[key],
      name: "BĐ" + key,
      lineStyle: { color: LEVEL_COLOURS[key] || "#e53935", type: "dashed", width: 2 },
      label: { formatter: "BĐ" + key + ": {c}", position: "insideEndTop" },
    }));
  }

  function load(range) {
    current = range;
    const end = Date.now();
    const start = end - range.ms;
    charts.forEach(({ el, chart, levels }) => {
      const url = "/api/v1/entities/" + encodeURIComponent(entity) + "/series/" +
        encodeURIComponent(el.dataset.metric) + "?from=" + start + "&to=" + end +
        "&bucket=" + range.bucket + "&agg=avg";
      if (!chart.getOption()) chart.showLoading(); // a live reload keeps the old picture
      fetch(url, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { points: [] }))
        .then((answer) => {
          chart.hideLoading();
          const data = (answer.points || []).map((p) => [p.t, p.v]);
          const maxLevel = Math.max(...Object.values(levels).map(Number), -Infinity);
          chart.setOption({
            animation: false,
            grid: { left: 50, right: 60, top: 20, bottom: 30 },
            tooltip: { trigger: "axis" },
            xAxis: { type: "time", min: start, max: end },
            yAxis: { type: "value", scale: true, name: el.dataset.unit,
              max: (v) => Math.max(v.max, isFinite(maxLevel) ? maxLevel * 1.05 : v.max) },
            series: [{
              type: "line", showSymbol: data.length < 60, data, name: el.dataset.metric,
              markLine: { symbol: "none", silent: true, data: levelLines(levels) },
            }],
          }, { replaceMerge: ["series"] });
        })
        .catch(() => chart.hideLoading());
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof echarts !== "undefined") {
      root.querySelectorAll(".chart").forEach((el) => {
        const chart = echarts.init(el, null, { renderer: "canvas" });
        charts.push({ el, chart, levels: JSON.parse(el.dataset.levels || "{}") });
      });
      window.addEventListener("resize", () => charts.forEach((c) => c.chart.resize()));
    }
    const buttons = root.querySelectorAll("button.range");
    buttons.forEach((button) => button.addEventListener("click", () => {
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      const range = ranges.find((r) => r.code === button.dataset.range);
      if (range) load(range);
    }));
    load(ranges.find((r) => r.code === "24h") || ranges[0]);

    // Live: a new value updates its card at once and the chart within a few seconds (one
    // reload of the shown range for any number of values arriving together).
    const timeFormat = new Intl.DateTimeFormat("vi-VN", {
      timeZone: root.dataset.tz || undefined, day: "2-digit", month: "2-digit", year: "numeric",
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
        if (number) number.textContent = point.value.toFixed(2);
        if (when) when.textContent = timeFormat.format(new Date(point.ts)).replace(",", "");
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
