// The citizen-report queue: reload its rows (same filters) whenever a report the viewer may
// see changes (Server-Sent Events from /citizen/stream, scoped by the server).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const page = document.getElementById("citizen-queue");
    const rows = document.getElementById("report-rows");
    if (!page || !rows || !page.dataset.citizenStream) return;
    const dot = document.getElementById("live");
    let pending = null;
    function reload() {
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        fetch(window.location.href, { credentials: "same-origin", headers: { "HX-Request": "true" } })
          .then((r) => (r.ok ? r.text() : null))
          .then((html) => { if (html !== null) rows.innerHTML = html; })
          .catch(() => {});
      }, 300);
    }
    const source = new EventSource(page.dataset.citizenStream, { withCredentials: true });
    source.onopen = () => dot && dot.classList.add("on");
    source.onerror = () => dot && dot.classList.remove("on");
    source.addEventListener("citizen", reload);
  });
})();
