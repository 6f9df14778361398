// Map parts of the overview (used by overview.js): the offline basemap, the ward and commune
// outlines with their names, a station's hover text and popup card, and the keyboard list of
// the stations in view. Nothing is fetched from another host unless the operator configured
// a tile server of the IOC's own network (TAYDO_BASEMAP_URL).
window.TaydoMap = (function () {
  "use strict";

  // --- basemap: an operator's PMTiles file (vector or raster) or a tile URL, else none.
  function basemap(map, root) {
    const kind = root.dataset.basemap || "none";
    const url = root.dataset.basemapUrl || "";
    const attribution = root.dataset.basemapAttribution || "";
    if (kind !== "none") {
      // Basemap data carries its licence (OpenStreetMap: ODbL): the layers' own attribution
      // and the operator's text are shown.
      const control = L.control.attribution({ prefix: false }).addTo(map);
      if (attribution) control.addAttribution(attribution);
    }
    if (kind === "tiles" && url) {
      L.tileLayer(url, { maxZoom: 19, crossOrigin: false }).addTo(map);
      root.dataset.basemapState = "tiles";
      return Promise.resolve(true);
    }
    if (kind !== "pmtiles" || !url || typeof pmtiles === "undefined") {
      root.dataset.basemapState = "none";
      return Promise.resolve(false);
    }
    const absolute = new URL(url, window.location.href).href;
    const source = new pmtiles.PMTiles(absolute);
    return source.getHeader().then((header) => {
      let layer;
      if (header.tileType === pmtiles.TileType.Mvt) {
        if (typeof protomapsL === "undefined") throw new Error("protomaps-leaflet missing");
        const lang = document.documentElement.lang === "en" ? "en" : "vi";
        layer = protomapsL.leafletLayer({ url: source, flavor: "light", lang: lang, maxDataZoom: header.maxZoom });
      } else {
        layer = pmtiles.leafletRasterLayer(source, { maxNativeZoom: header.maxZoom, minZoom: 0, maxZoom: 19 });
      }
      layer.addTo(map);
      root.dataset.basemapState = header.tileType === pmtiles.TileType.Mvt ? "vector" : "raster";
      return true;
    }).catch(() => {
      root.dataset.basemapState = "error"; // a broken file: outlines on a plain sheet
      return false;
    });
  }

  // --- outlines: the wards' and communes' boundaries with their names, names decluttered.
  function outlines(map, geo, opts) {
    const withBasemap = !!(opts && opts.basemap);
    const layer = L.geoJSON(geo, {
      renderer: opts && opts.renderer,
      style: {
        color: "#5d7286", weight: 1.2,
        fillColor: "#eef1e6", fillOpacity: withBasemap ? 0.08 : 1,
      },
      interactive: false,
      onEachFeature: (feature, shape) => {
        const name = feature.properties && feature.properties.name;
        if (!name) return;
        shape.bindTooltip(name, {
          permanent: true, direction: "center", className: "area-label", interactive: false,
        });
      },
    }).addTo(map);
    layer.bringToBack();
    const declutter = () => {
      // Largest first keeps a name on the big communes; one that would overlap a shown one
      // is hidden until the map is zoomed in far enough to make room.
      const labels = [];
      layer.eachLayer((shape) => {
        const tip = shape.getTooltip && shape.getTooltip();
        const el = tip && tip.getElement && tip.getElement();
        if (!el) return;
        const b = shape.getBounds();
        const nw = map.latLngToContainerPoint(b.getNorthWest());
        const se = map.latLngToContainerPoint(b.getSouthEast());
        labels.push({ el, size: Math.abs((se.x - nw.x) * (se.y - nw.y)) });
      });
      labels.sort((a, b) => b.size - a.size);
      const shown = [];
      for (const label of labels) {
        label.el.classList.remove("area-label-hidden");
        const r = label.el.getBoundingClientRect();
        const small = label.size < r.width * r.height;
        const hit = shown.some((s) => r.left < s.right && r.right > s.left && r.top < s.bottom && r.bottom > s.top);
        if (hit || small) label.el.classList.add("area-label-hidden");
        else shown.push(r);
      }
    };
    map.on("zoomend", declutter);
    map.whenReady(declutter);
    return { layer, declutter };
  }

  // --- words of a marker: hover text and the popup card (fetched when opened).
  function hoverText(row, words) {
    const [, name, , , state, , , value, metric] = row;
    let text = name;
    if (value !== null && value !== undefined && metric !== null && metric !== undefined) {
      const [label, unit] = (words.metrics || [])[metric] || ["", ""];
      text += " — " + (label ? label + ": " : "") + String(value) + (unit ? " " + unit : "");
    }
    const stateLabel = (words.labels || {})[state];
    if (stateLabel) text += " · " + stateLabel;
    return text;
  }

  function card(id) {
    const box = document.createElement("div");
    box.className = "map-card-box";
    box.setAttribute("aria-live", "polite");
    box.textContent = "…";
    fetch("/console/entities/" + encodeURIComponent(id) + "/card", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => {
        box.innerHTML = html; // the server's own escaped fragment (no script: strict CSP)
        box.querySelectorAll("[data-colour]").forEach((el) => { el.style.background = el.dataset.colour; });
        box.dispatchEvent(new CustomEvent("taydo:card", { bubbles: true }));
      })
      .catch(() => {
        const a = document.createElement("a");
        a.href = "/entities/" + encodeURIComponent(id);
        a.textContent = id;
        box.replaceChildren(a);
      });
    return box;
  }

  // --- keyboard: the stations in view as a list of buttons; Enter opens the popup.
  function stationList(map, list, opts) {
    const limit = opts.limit || 40;
    const count = opts.count;
    let lastId = null;
    function render() {
      const bounds = map.getBounds();
      const inView = [];
      for (const [id, marker] of opts.markers) {
        if (bounds.contains(marker.getLatLng())) inView.push([id, marker]);
      }
      const ranks = opts.ranks();
      inView.sort((a, b) => (ranks[b[1].options.state] || 0) - (ranks[a[1].options.state] || 0)
        || a[1].options.title.localeCompare(b[1].options.title, "vi"));
      const focused = document.activeElement && list.contains(document.activeElement)
        ? document.activeElement.dataset.id : null;
      const shown = inView.slice(0, limit);
      // The station that has the keyboard focus stays in the list even when the map moved
      // it out of view (a popup's auto-pan), so focus is never lost to the page.
      if (focused && opts.markers.has(focused) && !shown.some(([id]) => id === focused)) {
        shown.unshift([focused, opts.markers.get(focused)]);
      }
      const items = shown.map(([id, marker]) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "station";
        button.dataset.id = id;
        const dot = document.createElement("span");
        dot.className = "dot";
        dot.setAttribute("aria-hidden", "true");
        dot.style.background = opts.colours()[marker.options.state] || "#9e9e9e";
        const text = document.createElement("span");
        text.textContent = opts.text(id);
        button.append(dot, text);
        li.append(button);
        return li;
      });
      list.replaceChildren(...items);
      if (count) count.textContent = String(inView.length);
      if (focused) {
        const again = list.querySelector('button[data-id="' + CSS.escape(focused) + '"]');
        if (again) again.focus();
      }
    }
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-id]");
      if (!button) return;
      open(button.dataset.id);
    });
    function open(id) {
      const marker = opts.markers.get(id);
      if (!marker) return;
      lastId = id;
      opts.cluster.zoomToShowLayer(marker, () => opts.bound(marker).openPopup());
    }
    map.on("popupopen", (event) => {
      const el = event.popup.getElement();
      if (!el) return;
      const focus = () => {
        const link = el.querySelector(".card-link") || el.querySelector(".leaflet-popup-close-button");
        if (link && lastId) link.focus();
      };
      el.addEventListener("taydo:card", focus, { once: true });
      focus();
      el.addEventListener("keydown", (e) => { if (e.key === "Escape") map.closePopup(); });
    });
    map.on("popupclose", () => {
      if (!lastId) return;
      const back = list.querySelector('button[data-id="' + CSS.escape(lastId) + '"]');
      lastId = null;
      if (back) back.focus();
      later();
    });
    let timer = null;
    // While a popup opened from the list is open the list holds still (its button is where
    // focus returns on Escape); it catches up when the popup closes.
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { if (lastId === null) render(); }, 150);
    };
    map.on("moveend", later);
    return { render, later, open };
  }

  return { basemap, outlines, hoverText, card, stationList };
})();
