// Directive pages (taydo.directives): the live region follows the directive stream.
// On a `directive` event (or a `resync`) the page fetches itself again and swaps the elements
// marked data-live-region (by id), unless someone is typing in one: then a notice offers the
// reload.
(function () {
  "use strict";

  function dirty(region) {
    if (region.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    return Array.from(region.querySelectorAll("input, textarea")).some((field) => {
      if (field.type === "hidden" || field.type === "submit") return false;
      if (field.type === "file") return field.files && field.files.length > 0;
      return field.value !== field.defaultValue;
    });
  }

  function notice() {
    let box = document.getElementById("directives-stale");
    if (box) return;
    box = document.createElement("p");
    box.id = "directives-stale";
    box.className = "stale-notice";
    box.setAttribute("role", "status");
    const link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = document.body.dataset.locale === "en"
      ? "Updated — reload" : "Có cập nhật mới — tải lại";
    box.appendChild(link);
    const page = document.querySelector("[data-directives-stream]");
    page.insertBefore(box, page.firstChild);
  }

  let pending = null;
  async function refresh() {
    const regions = Array.from(document.querySelectorAll("[data-live-region][id]"));
    if (!regions.length) return;
    if (regions.some(dirty)) { notice(); return; }
    const answer = await fetch(window.location.href, { credentials: "same-origin" });
    if (!answer.ok) return;
    const html = new DOMParser().parseFromString(await answer.text(), "text/html");
    regions.forEach((region) => {
      const fresh = html.getElementById(region.id);
      if (fresh && !dirty(region)) region.replaceWith(document.importNode(fresh, true));
    });
  }
  function soon() {  // a burst of events costs one fetch
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 300);
  }

  function connect(url, only) {
    let delay = 1000;
    function open() {
      const source = new EventSource(url, { withCredentials: true });
      const dot = () => document.getElementById("live");
      source.onopen = () => { delay = 1000; if (dot()) dot().classList.add("on"); };
      source.onerror = () => {
        if (dot()) dot().classList.remove("on");
        if (source.readyState === EventSource.CLOSED) {
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 60000);
        }
      };
      source.addEventListener("directive", (event) => {
        let data = null;
        try { data = JSON.parse(event.data); } catch (_e) { return; }
        if (only && data && String(data.id) !== only) return;
        document.body.dispatchEvent(new CustomEvent("taydo:directive", { detail: data }));
        soon();
      });
      source.addEventListener("resync", soon);
    }
    open();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const holder = document.querySelector("[data-directives-stream]");
    if (holder) connect(holder.dataset.directivesStream, holder.dataset.directive || "");
  });
})();
