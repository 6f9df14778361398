// Overview map: every entity as a canvas circle coloured by its state, clustered
// (leaflet.markercluster, chunked loading) so 10,000 entities stay smooth. No tile server:
// the background is the wards' outlines when loaded, else a plain sheet (closed networks).
(function () {
  "use strict";
  const root = document.getElementById("overview");
  if (!root || typeof L === "undefined") return;

  const CAN_THO = [10.03, 105.77];
  const map = L.map("map", {
    preferCanvas: true, center: CAN_THO, zoom: 10, minZoom: 7, maxZoom: 18,
    attributionControl: false, keyboard: true,
  });
  L.control.scale({ imperial: false }).addTo(map);
  const renderer = L.canvas({ padding: 0.5 });
  const RADIUS = window.TaydoWall ? window.TaydoWall.markerRadius() : 7; // larger on the wall
  let colours = {};
  let ranks = {};
  const markers = new Map(); // entity id -> circle marker (reused, never rebuilt)

  const ColourIcon = L.DivIcon.extend({
    createIcon: function (old) {
      const el = L.DivIcon.prototype.createIcon.call(this, old);
      el.style.background = this.options.colour; // CSSOM: allowed by the strict CSP
      return el;
    },
  });

  const cluster = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 45,
    iconCreateFunction: (group) => {
      let worst = null;
      for (const child of group.getAllChildMarkers()) {
        const s = child.options.state;
        if (worst === null || (ranks[s] || 0) > (ranks[worst] || 0)) worst = s;
      }
      const n = group.getChildCount();
      return new ColourIcon({
        html: "<span>" + n + "</span>",
        className: "cluster",
        colour: colours[worst] || "#607d8b",
        iconSize: L.point(34, 34),
      });
    },
  });
  map.addLayer(cluster);

  function style(state) {
    return { radius: RADIUS, weight: 1.5, color: "#1b2a3a", fillColor: colours[state] || "#9e9e9e", fillOpacity: 0.95, renderer };
  }

  function popup(row) {
    const a = document.createElement("a");
    a.href = "/entities/" + encodeURIComponent(row[0]);
    a.textContent = row[1];
    return a;
  }

  let fitted = false;
  function apply(json) {
    colours = json.colours || {};
    ranks = json.ranks || {};
    root.querySelectorAll(".dot[data-state]").forEach((dot) => {
      dot.style.background = colours[dot.dataset.state] || "#fff";
    });
    const seen = new Set();
    const fresh = [];
    for (const row of json.rows) {
      const [id, , lat, lon, state] = row;
      seen.add(id);
      const known = markers.get(id);
      if (known) {
        if (known.options.state !== state) {
          known.options.state = state;
          known.setStyle(style(state));
        }
        continue;
      }
      const marker = L.circleMarker([lat, lon], style(state));
      marker.options.state = state;
      marker.bindPopup(() => popup(row));
      markers.set(id, marker);
      fresh.push(marker);
    }
    const gone = [];
    for (const [id, marker] of markers) {
      if (!seen.has(id)) { gone.push(marker); markers.delete(id); }
    }
    if (gone.length) cluster.removeLayers(gone);
    if (fresh.length) cluster.addLayers(fresh);
    cluster.refreshClusters();
    root.dataset.markers = String(markers.size);
    if (!fitted && markers.size) {
      fitted = true;
      const bounds = cluster.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds.pad(0.05));
    }
  }

  function load() {
    return fetch(root.dataset.entities, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(apply)
      .catch(() => {});
  }

  fetch(root.dataset.areas, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((geo) => {
      if (!geo || !geo.features || !geo.features.length) return;
      const layer = L.geoJSON(geo, {
        renderer,
        style: { color: "#7b8fa3", weight: 1, fillColor: "#eef1e6", fillOpacity: 1 },
        interactive: false,
      }).addTo(map);
      layer.bringToBack();
      if (!markers.size) map.fitBounds(layer.getBounds());
    })
    .catch(() => {});

  load().then(() => setInterval(load, 300000));

  // A transition recolours its entity at once; the next full load settles everything else.
  let pending = null;
  document.body.addEventListener("taydo:alert", (event) => {
    const alert = event.detail || {};
    const marker = markers.get(alert.entity_id);
    if (marker && alert.severity && colours[alert.severity] && alert.state !== "resolved") {
      marker.options.state = alert.severity;
      marker.setStyle(style(alert.severity));
      cluster.refreshClusters(marker);
    }
    if (pending === null) pending = setTimeout(() => { pending = null; load(); }, 3000);
  });

  // Wall mode (js/wall.js): the clock, the panels' turns and the focus chart; the map's view
  // moves between the hot spots and the whole city at each turn.
  if (root.dataset.wall === "1" && window.TaydoWall) {
    window.TaydoWall.start({
      fly: (hotTurn) => {
        const hot = [];
        for (const marker of markers.values()) {
          if ((ranks[marker.options.state] || 0) >= 3) hot.push(marker.getLatLng());
        }
        if (hotTurn && hot.length) map.flyToBounds(L.latLngBounds(hot).pad(0.3), { maxZoom: 14 });
        else if (markers.size) map.flyToBounds(cluster.getBounds().pad(0.05));
      },
    });
  }
})();
