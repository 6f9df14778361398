// Tây Đô console: the one live connection of a page (Server-Sent Events) and its live mark.
// Alert transitions arrive as `taydo:alert` events on <body> (htmx fragments, lists and the
// map listen to them), new values as `taydo:value`. Every event has an id; on reconnect the
// browser sends the last one (Last-Event-ID) and receives what it missed. A `resync` (the
// id was too old, the server restarted, or we were too slow) reloads the page's live parts.
// The live mark turns red with the reason as soon as the stream is lost or the session
// ends, so a screen never shows a green dot over a dead page; a wall retries with backoff
// for as long as it takes and catches up by itself.
(function () {
  "use strict";

  function parse(text) {
    try { const data = JSON.parse(text); return data && typeof data === "object" ? data : null; }
    catch (_e) { return null; }
  }

  function fire(name, detail) {
    document.body.dispatchEvent(new CustomEvent(name, { detail: detail || {} }));
  }

  const mark = {
    el: () => document.getElementById("live"),
    set(state, text, link) {
      const el = this.el();
      if (!el) return;
      el.dataset.state = state;
      el.classList.toggle("on", state === "on");
      el.classList.toggle("off", state !== "on" && state !== "connecting");
      const label = el.querySelector(".live-text");
      if (!label) return;
      label.textContent = text || el.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)] || "";
      if (link) {
        const a = document.createElement("a");
        a.href = link;
        a.textContent = el.dataset.textLogin || "";
        label.append(" · ", a);
      }
    },
  };

  function loginLink() {
    return "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  // The server sends at least a `ping` every 15 s; a stream silent for longer than this is
  // dead even if no error fired (a cable pulled, a NAT or proxy timeout).
  const SILENT_MS = 40000;

  function connect(base, since) {
    let delay = 1000;
    let heard = Date.now();
    let source = null;
    let ended = false;
    let lastId = since || "";
    let timer = null;

    function url() {
      if (!lastId) return base;
      return base + (base.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(lastId);
    }

    function end(state) {
      ended = true;
      if (source) source.close();
      if (timer) clearTimeout(timer);
      mark.set(state, null, state === "expired" ? loginLink() : null);
      document.body.dataset.live = state;
    }

    function track(event) {
      heard = Date.now();
      if (event.lastEventId) lastId = event.lastEventId;
    }

    // A connection that the browser will not retry (a refused answer such as 401): ask
    // the server why, then either say the session ended or try again later.
    function diagnose() {
      fetch("/api/v1/auth/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => {
          if (r.status === 401) { end("expired"); return; }
          retry();
        })
        .catch(retry);
    }

    function retry() {
      if (ended) return;
      mark.set("lost");
      document.body.dataset.live = "lost";
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 60000);
    }

    function open() {
      timer = null;
      source = new EventSource(url(), { withCredentials: true });
      source.onopen = () => {
        heard = Date.now();
        delay = 1000;
        mark.set("on");
        document.body.dataset.live = "on";
      };
      source.onerror = () => {
        if (ended) return;
        if (source.readyState === EventSource.CLOSED) { diagnose(); return; }
        mark.set("lost"); // the browser reconnects by itself (the server's retry hint)
        document.body.dataset.live = "lost";
      };
      source.addEventListener("hello", track);
      source.addEventListener("ping", track);
      source.addEventListener("alert", (event) => {
        track(event);
        const alert = parse(event.data);
        if (alert) fire("taydo:alert", alert);
      });
      source.addEventListener("value", (event) => {
        heard = Date.now();
        const value = parse(event.data);
        if (value) fire("taydo:value", value);
      });
      // We missed events (id unknown here, server restarted, queue overflow): reload the
      // current state of every live part of the page.
      source.addEventListener("resync", (event) => {
        track(event);
        fire("taydo:alert", {});
        fire("taydo:resync", parse(event.data) || {});
      });
      source.addEventListener("expired", (event) => {
        const why = (parse(event.data) || {}).reason || "";
        if (why === "account changed") {
          // A new role or scope: connect again (a disabled account then gets 401).
          source.close();
          retry();
          return;
        }
        end(why === "revoked" ? "revoked" : "expired");
      });
    }

    // Any live fragment refused with 401: the session is over, say so at once.
    document.body.addEventListener("htmx:responseError", (event) => {
      const xhr = event.detail && event.detail.xhr;
      if (xhr && xhr.status === 401) end("expired");
    });
    open();
    setInterval(() => {
      if (ended || timer !== null || !source || source.readyState !== EventSource.OPEN) return;
      if (Date.now() - heard < SILENT_MS) return;
      source.close(); // dead but never told: start again, resuming from the last id
      retry();
    }, 5000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const body = document.body;
    if (body.dataset.stream) connect(body.dataset.stream, body.dataset.since || "");
  });
})();
