// The public status page of one citizen report: it follows the report live. The server sends
// a "status" event (public fields only) over /citizen/r/<token>/live whenever the report
// changes; when the status or its note differs from what is shown, the page reads itself
// again and swaps its content in place (the rating and reopen forms appear with "resolved").
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const page = document.getElementById("citizen-status");
    if (!page || !page.dataset.live || !window.EventSource) return;
    let pending = false;
    function shown() {
      const badge = document.getElementById("report-status");
      const notes = document.getElementById("status-notes");
      return {
        status: badge ? badge.dataset.status : null,
        notes: notes ? notes.textContent : null,
      };
    }
    function refresh() {
      if (pending) return;
      pending = true;
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
        .then((r) => (r.ok ? r.text() : null))
        .then((html) => {
          if (html === null) return;
          const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("citizen-status");
          if (fresh) page.innerHTML = fresh.innerHTML;
        })
        .catch(() => {})
        .finally(() => { pending = false; });
    }
    const source = new EventSource(page.dataset.live);
    source.addEventListener("status", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      const now = shown();
      if (data.status !== now.status || (data.status_notes || null) !== (now.notes || null)) refresh();
    });
  });
})();
