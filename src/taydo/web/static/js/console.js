// Tây Đô console: the one live connection of a page (Server-Sent Events) and small helpers.
// Alert transitions arrive as `taydo:alert` events on <body>; htmx fragments and the map
// listen to them. EventSource reconnects by itself; when the browser gives up, we retry with
// backoff so a wall screen stays live for days.
(function () {
  "use strict";
  const ALERT_EVENTS = ["alert", "alerts.transition", "message"];

  function connect(url) {
    let delay = 1000;
    let source = null;
    const live = () => document.getElementById("live");
    function open() {
      source = new EventSource(url, { withCredentials: true });
      source.onopen = () => {
        delay = 1000;
        const dot = live();
        if (dot) dot.classList.add("on");
      };
      source.onerror = () => {
        const dot = live();
        if (dot) dot.classList.remove("on");
        if (source.readyState === EventSource.CLOSED) {
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 60000);
        }
      };
      const handler = (event) => {
        let data = null;
        try { data = JSON.parse(event.data); } catch (_e) { return; }
        if (!data || typeof data !== "object") return;
        if (data.subject && data.subject !== "alerts.transition") return;
        const alert = data.data && typeof data.data === "object" ? data.data : data;
        document.body.dispatchEvent(new CustomEvent("taydo:alert", { detail: alert }));
      };
      ALERT_EVENTS.forEach((name) => source.addEventListener(name, handler));
      // The server dropped events for us (slow link): reload the current state.
      source.addEventListener("resync", () =>
        document.body.dispatchEvent(new CustomEvent("taydo:alert", { detail: {} })));
    }
    open();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const holder = document.querySelector("[data-stream]");
    if (holder && holder.dataset.stream) connect(holder.dataset.stream);
  });
})();
