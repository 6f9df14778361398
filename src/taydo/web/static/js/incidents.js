// Incident board and incident page: live over Server-Sent Events (/api/v1/incidents/stream).
// On each `incident` event the live part of the page is fetched again and swapped in place,
// so a change made elsewhere (another operator, correlation, the due-time checker) shows
// without a reload. The incident page also draws one map: the incident, its alerts' stations
// and its citizen reports (no tile server: closed networks).
(function () {
  "use strict";
  const root = document.querySelector("[data-incident-live]");
  if (!root) return;
  const target = document.getElementById("incident-live");
  const COLOURS = { incident: "#c62828", alert: "#f2994a", report: "#2f80ed" };
  let map = null;
  let layer = null;

  function drawMap() {
    const holder = document.getElementById("incident-map");
    const source = target.querySelector("[data-map]");
    if (!holder || !source || typeof L === "undefined") return;
    let points = [];
    try { points = JSON.parse(source.dataset.map || "[]"); } catch (_e) { points = []; }
    if (!map) {
      map = L.map(holder, { center: [10.03, 105.77], zoom: 11, attributionControl: false });
      layer = L.layerGroup().addTo(map);
    }
    layer.clearLayers();
    const bounds = [];
    for (const p of points) {
      if (typeof p.lat !== "number" || typeof p.lon !== "number") continue;
      const marker = L.circleMarker([p.lat, p.lon], {
        radius: p.kind === "incident" ? 10 : 7, weight: 2, color: "#1b2a3a",
        fillColor: COLOURS[p.kind] || "#607d8b", fillOpacity: 0.9,
      });
      const link = document.createElement("a");
      link.textContent = p.label || p.kind;
      if (p.href) link.href = p.href;
      marker.bindPopup(link);
      marker.options.kind = p.kind;
      marker.addTo(layer);
      bounds.push([p.lat, p.lon]);
    }
    holder.dataset.points = String(bounds.length);
    if (bounds.length === 1) map.setView(bounds[0], 14);
    else if (bounds.length > 1) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
  }

  let pending = null;
  function refresh() {
    if (pending) return;  // one fetch at a time; a burst of events costs one reload
    pending = fetch(root.dataset.incidentLive, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => {
        if (html !== null && !document.activeElement?.closest?.("#incident-live form")) {
          target.innerHTML = html;
          drawMap();
        }
      })
      .catch(() => {})
      .finally(() => { pending = null; });
  }

  function connect(url) {
    let delay = 1000;
    function open() {
      const source = new EventSource(url, { withCredentials: true });
      const dot = () => document.getElementById("live");
      source.onopen = () => { delay = 1000; dot()?.classList.add("on"); };
      source.onerror = () => {
        dot()?.classList.remove("on");
        if (source.readyState === EventSource.CLOSED) {
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 60000);
        }
      };
      source.addEventListener("incident", refresh);
      source.addEventListener("resync", refresh);
    }
    open();
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawMap();
    if (root.dataset.stream) connect(root.dataset.stream);
  });
})();
