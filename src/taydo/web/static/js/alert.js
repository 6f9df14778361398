// Alert page: the series around the alert (6 h before it started to 1 h after it ended),
// with a line where it started.
(function () {
  "use strict";
  const root = document.getElementById("alert");
  if (!root) return;
  document.addEventListener("DOMContentLoaded", () => {
    const spec = JSON.parse(root.dataset.chart || "{}");
    const el = document.getElementById("alert-chart");
    if (!spec.entity || !spec.metric || typeof echarts === "undefined" || !el) return;
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const span = spec.to - spec.from;
    const bucket = span <= 12 * 3600e3 ? "1m" : span <= 3 * 86400e3 ? "15m" : "1h";
    const url = "/api/v1/entities/" + encodeURIComponent(spec.entity) + "/series/" +
      encodeURIComponent(spec.metric) + "?from=" + spec.from + "&to=" + spec.to +
      "&bucket=" + bucket + "&agg=max";
    fetch(url, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : { points: [] }))
      .then((answer) => {
        chart.setOption({
          animation: false,
          grid: { left: 50, right: 30, top: 20, bottom: 30 },
          tooltip: { trigger: "axis" },
          xAxis: { type: "time", min: spec.from, max: spec.to },
          yAxis: { type: "value", scale: true },
          series: [{
            type: "line", name: spec.metric,
            data: (answer.points || []).map((p) => [p.t, p.v]),
            showSymbol: (answer.points || []).length < 60,
            markLine: { symbol: "none", silent: true, lineStyle: { color: "#eb5757" },
              label: { show: false }, data: [{ xAxis: spec.started }] },
          }],
        });
      });
    window.addEventListener("resize", () => chart.resize());
  });

  // Live: a change of this alert made elsewhere (another screen, the API, the engine) shows
  // at once: the state badge follows, and acknowledging is no longer offered once done.
  document.body.addEventListener("taydo:alert", (event) => {
    const alert = event.detail || {};
    if (String(alert.id) !== root.dataset.id) return;
    if (!(alert.revision > Number(root.dataset.revision))) return;
    root.dataset.revision = String(alert.revision);
    const holder = document.getElementById("alert-state");
    const label = alert.state_label || {};
    if (holder && alert.state) {
      const badge = document.createElement("span");
      badge.className = "badge state-" + alert.state;
      badge.textContent = (document.body.dataset.locale === "en" ? label.en : label.vi) || alert.state;
      holder.replaceChildren(badge);
    }
    if (alert.state !== "firing") {
      const ack = document.getElementById("acknowledge");
      if (ack && ack.form) ack.form.remove();
    }
  });
})();
