// The public citizen report form: pick the place on the map (tap) or from the phone's GPS, and
// see recent reports of the same category nearby before sending (duplicate suggestions).
// No tiles from elsewhere (closed networks, CSP): the map draws the wards' outlines.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("report-form");
    const holder = document.getElementById("pick-map");
    if (!form || !holder || typeof L === "undefined") return;
    const lat = document.getElementById("lat");
    const lon = document.getElementById("long");
    const picked = document.getElementById("picked");
    const service = document.getElementById("service_code");
    const start = [parseFloat(holder.dataset.lat), parseFloat(holder.dataset.lon)];
    const map = L.map(holder, { zoomControl: true, attributionControl: false }).setView(start, 14);
    let marker = null;

    fetch(holder.dataset.areas, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((geo) => {
        if (geo && geo.features && geo.features.length) {
          L.geoJSON(geo, { style: { color: "#2f80ed", weight: 1, fillOpacity: 0.05 } })
            .bindTooltip((layer) => layer.feature.properties.name)
            .addTo(map);
        }
      })
      .catch(() => {});

    function showDuplicates(items) {
      const box = document.getElementById("duplicates");
      const list = document.getElementById("duplicate-list");
      list.replaceChildren();
      items.forEach((item) => {
        const li = document.createElement("li");
        const when = new Date(item.requested_at).toLocaleString(document.documentElement.lang);
        li.textContent = `#${item.id} · ${item.distance_m} m · ${when}` +
          (item.description ? ` · ${item.description.slice(0, 80)}` : "");
        list.appendChild(li);
      });
      box.hidden = items.length === 0;
    }

    function lookForDuplicates() {
      if (!service.value || !lat.value || !lon.value) { showDuplicates([]); return; }
      const query = new URLSearchParams({ service_code: service.value, lat: lat.value, lon: lon.value });
      fetch(`${form.dataset.duplicates}?${query}`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : []))
        .then(showDuplicates)
        .catch(() => {});
    }

    function pick(latitude, longitude) {
      lat.value = latitude.toFixed(6);
      lon.value = longitude.toFixed(6);
      picked.textContent = `${lat.value}, ${lon.value}`;
      if (marker) marker.setLatLng([latitude, longitude]);
      else marker = L.circleMarker([latitude, longitude], { radius: 9, color: "#eb5757", fillOpacity: 0.8 }).addTo(map);
      lookForDuplicates();
    }

    map.on("click", (event) => pick(event.latlng.lat, event.latlng.lng));
    service.addEventListener("change", lookForDuplicates);
    document.getElementById("use-gps").addEventListener("click", () => {
      if (!navigator.geolocation) return;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          pick(position.coords.latitude, position.coords.longitude);
          map.setView([position.coords.latitude, position.coords.longitude], 16);
        },
        () => { picked.textContent = picked.dataset.gpsError || "GPS?"; },
        { enableHighAccuracy: true, timeout: 15000 }
      );
    });
    if (lat.value && lon.value) pick(parseFloat(lat.value), parseFloat(lon.value));
  });
})();
