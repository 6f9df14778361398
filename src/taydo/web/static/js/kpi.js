// KPI pages: the history chart of a KPI (with its target), the DTI trend by year, and the
// wall mode's refresh of the executive dashboard (values are recomputed every few minutes).
(function () {
  "use strict";
  function chartOf(id) {
    const el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") return null;
    const chart = echarts.init(el, null, { renderer: "canvas" });
    window.addEventListener("resize", () => chart.resize());
    return chart;
  }
  // The wall is not scrolled and its type may not shrink (24 px at 4K): its pillars flow
  // through columns of 12em (kpi.css); while the board is taller than the screen, the columns
  // narrow a step (more of them), down to 8em — a pack with more KPIs than the reference one.
  function fitWall() {
    const board = document.querySelector(".kpi-dashboard .pillars");
    const main = document.querySelector("main");
    if (!board || !main) return;
    board.style.columnWidth = "";
    for (let width = 11.5; width >= 8 && main.scrollHeight > main.clientHeight + 1; width -= 0.5) {
      board.style.columnWidth = width + "em";
    }
  }
  document.addEventListener("DOMContentLoaded", () => {
    const kpi = document.getElementById("kpi");
    if (kpi) {
      const spec = JSON.parse(kpi.dataset.chart || "{}");
      const chart = chartOf("kpi-chart");
      if (chart) {
        const lines = [];
        if (spec.target !== null && spec.target !== undefined) lines.push({ yAxis: spec.target, lineStyle: { color: "#2e7d32" } });
        if (spec.warn !== null && spec.warn !== undefined) lines.push({ yAxis: spec.warn, lineStyle: { color: "#f9a825" } });
        chart.setOption({
          animation: false,
          grid: { left: 60, right: 30, top: 20, bottom: 30 },
          tooltip: { trigger: "axis" },
          xAxis: { type: "category", data: spec.labels || [] },
          yAxis: { type: "value", scale: true, name: spec.unit || "" },
          series: [{ type: "line", data: spec.values || [], connectNulls: false,
            markLine: { symbol: "none", silent: true, label: { show: false }, data: lines } }],
        });
      }
    }
    const dti = document.getElementById("dti");
    if (dti) {
      const spec = JSON.parse(dti.dataset.chart || "{}");
      const chart = chartOf("dti-chart");
      if (chart && spec.years) {
        chart.setOption({
          animation: false,
          legend: { type: "scroll", bottom: 0 },
          grid: { left: 50, right: 30, top: 20, bottom: 60 },
          tooltip: { trigger: "axis" },
          xAxis: { type: "category", data: spec.years.map(String) },
          yAxis: { type: "value", min: 0, max: 1 },
          series: spec.series.map((s) => ({ type: "line", name: s.name, data: spec.values[s.code] || [],
            lineStyle: s.code === "" ? { width: 4 } : { width: 1.5 } })),
        });
      }
    }
    if (document.body.classList.contains("wall") && document.querySelector(".kpi-dashboard")) {
      fitWall();
      window.addEventListener("resize", fitWall);
      setTimeout(() => window.location.reload(), 5 * 60 * 1000);
    }
  });
})();
