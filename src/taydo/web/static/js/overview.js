// Overview map: every entity as a canvas circle coloured by its state, clustered
// (leaflet.markercluster, chunked loading) so 10,000 entities stay smooth. The background is
// the operator's offline basemap (PMTiles) or tile server when configured, and the wards'
// outlines with their names when loaded, else a plain sheet (closed networks). js/map.js
// holds those map parts, the hover text, the popup card and the keyboard station list.
(function () {
  "use strict";
  const root = document.getElementById("overview");
  if (!root || typeof L === "undefined" || typeof TaydoMap === "undefined") return;

  const CAN_THO = [10.03, 105.77];
  const map = L.map("map", {
    preferCanvas: true, center: CAN_THO, zoom: 10, minZoom: 8, maxZoom: 18,
    attributionControl: false, keyboard: true,
  });
  L.control.scale({ imperial: false }).addTo(map);
  const renderer = L.canvas({ padding: 0.5 });
  const RADIUS = window.TaydoWall ? window.TaydoWall.markerRadius() : 7; // larger on the wall
  let colours = {};
  let ranks = {};
  let words = { metrics: [], labels: {} };
  const rowsById = new Map(); // entity id -> its latest row (hover text, station list)
  const markers = new Map(); // entity id -> circle marker (reused, never rebuilt)

  const ColourIcon = L.DivIcon.extend({
    createIcon: function (old) {
      const el = L.DivIcon.prototype.createIcon.call(this, old);
      el.style.background = this.options.colour; // CSSOM: allowed by the strict CSP
      return el;
    },
  });

  let stations = null; // the keyboard list of the stations in view (js/map.js)
  // "All markers placed": the cluster layer has taken every marker of the last load (its
  // chunked loading finished); the benchmark and the tests wait for data-placed.
  const cluster = L.markerClusterGroup({
    chunkedLoading: true,
    chunkInterval: 200, // work 200 ms, then let the page breathe 1 ms (default: 100 / 50)
    chunkDelay: 1,
    // Clustering is computed for every zoom level from the map's minimum up to this one; 8
    // levels instead of 12 cut the placing time by about a third. From zoom 15 (a few
    // streets on screen) every station is shown by itself.
    disableClusteringAtZoom: 15,
    chunkProgress: (processed, total) => {
      if (processed === total) {
        root.dataset.placed = String(markers.size);
        if (window.performance && performance.mark) performance.mark("taydo:markers-placed");
        if (stations) stations.later();
      }
    },
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

  // Hover text and popup are bound to a marker when first needed: binding 10,000 markers up
  // front (two Leaflet objects each) took longer than placing them.
  function bound(marker) {
    if (!marker.getPopup()) {
      const id = marker.options.id;
      marker.bindTooltip(() => TaydoMap.hoverText(rowsById.get(id), words), { direction: "top", offset: [0, -6] });
      marker.bindPopup(() => TaydoMap.card(id), { minWidth: 260, maxWidth: 360, autoPanPadding: [24, 24] });
    }
    return marker;
  }
  cluster.on("mouseover", (event) => {
    if (event.layer instanceof L.CircleMarker && !event.layer.getPopup()) bound(event.layer).openTooltip();
  });
  cluster.on("click", (event) => {
    if (event.layer instanceof L.CircleMarker && !event.layer.getPopup()) bound(event.layer).openPopup();
  });

  TaydoMap.map = map; // for the browser tests and the benchmark
  TaydoMap.markers = markers;
  const basemapReady = TaydoMap.basemap(map, root);
  const stationsList = document.getElementById("station-list");
  stations = stationsList ? TaydoMap.stationList(map, stationsList, {
    markers, cluster, bound,
    count: document.getElementById("station-count"),
    ranks: () => ranks,
    colours: () => colours,
    text: (id) => TaydoMap.hoverText(rowsById.get(id), words),
  }) : null;

  let fitted = false;
  function apply(json) {
    colours = json.colours || {};
    ranks = json.ranks || {};
    words = { metrics: json.metrics || [], labels: json.labels || {} };
    root.querySelectorAll(".dot[data-state]").forEach((dot) => {
      dot.style.background = colours[dot.dataset.state] || "#fff";
    });
    const seen = new Set();
    const fresh = [];
    for (const row of json.rows) {
      const [id, name, lat, lon, state] = row;
      seen.add(id);
      rowsById.set(id, row);
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
      marker.options.title = name;
      marker.options.id = id;
      markers.set(id, marker);
      fresh.push(marker);
    }
    const gone = [];
    for (const [id, marker] of markers) {
      if (!seen.has(id)) { gone.push(marker); markers.delete(id); rowsById.delete(id); }
    }
    if (gone.length) cluster.removeLayers(gone);
    if (fresh.length) cluster.addLayers(fresh);
    else root.dataset.placed = String(markers.size);
    cluster.refreshClusters();
    root.dataset.markers = String(markers.size);
    if (!fitted && markers.size) {
      fitted = true; // from the rows: the cluster may still be taking its chunks
      const bounds = L.latLngBounds(json.rows.map((r) => [r[2], r[3]]));
      // Not animated: a zoom animation still running when someone (a keyboard user, the
      // phone layout's first view) sets the view ends by moving the map back to its target.
      if (bounds.isValid()) map.fitBounds(bounds.pad(0.05), { animate: false });
    }
    if (stations) stations.later();
  }

  function load() {
    return fetch(root.dataset.entities, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(apply)
      .catch(() => {});
  }

  Promise.all([
    fetch(root.dataset.areas, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)),
    basemapReady,
  ])
    .then(([geo, withBasemap]) => {
      if (!geo || !geo.features || !geo.features.length) return;
      const drawn = TaydoMap.outlines(map, geo, { renderer, basemap: withBasemap });
      root.dataset.outlines = String(geo.features.length);
      if (!markers.size) map.fitBounds(drawn.layer.getBounds(), { animate: false });
      else drawn.declutter();
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
