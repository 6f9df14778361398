// Tây Đô alerts list: groups of related alerts (one ward or station) folded under their worst
// member and opened on demand, ticking rows for a bulk acknowledgement (both kept across the
// live reloads of the rows), and the opt-in alarm for new danger-level alerts: a short tone, a flashing
// title and a desktop notification. The alarm is off until the operator turns it on (browsers
// forbid sound without a gesture, and a room of screens beeping unasked helps nobody); the
// choice is kept in localStorage. The tone is synthesised with Web Audio: no file, no CDN.
(function () {
  "use strict";

  const KEY = "taydo.alerts.alarm";
  const LOUD = new Set(["danger", "emergency"]);
  const FLASH_MS = 1000;
  const FLASH_FOR_MS = 30000;

  function rows() {
    return document.getElementById("alert-rows");
  }

  function boxes() {
    const body = rows();
    return body ? Array.from(body.querySelectorAll("input[name=ids]")) : [];
  }

  // --- groups of related alerts: folded under their worst member, opened on demand ----
  const opened = new Set();

  function showGroup(key, open) {
    const body = rows();
    if (!body) return;
    for (const member of body.querySelectorAll("tr[data-member-of]")) {
      if (member.dataset.memberOf === key) member.hidden = !open;
    }
    for (const button of body.querySelectorAll("button[data-toggle-group]")) {
      if (button.dataset.toggleGroup === key) {
        button.setAttribute("aria-expanded", open ? "true" : "false");
      }
    }
  }

  document.body.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button[data-toggle-group]");
    if (!button || !rows() || !rows().contains(button)) return;
    const key = button.dataset.toggleGroup;
    const open = !opened.has(key);
    if (open) opened.add(key);
    else opened.delete(key);
    showGroup(key, open);
  });

  // --- ticked rows and opened groups survive the live reload of the rows ---------------
  let ticked = new Set();
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target !== rows()) return;
    ticked = new Set(boxes().filter((b) => b.checked).map((b) => b.value));
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== rows()) return;
    for (const box of boxes()) box.checked = ticked.has(box.value);
    for (const key of opened) showGroup(key, true);
  });
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
  }

  // --- the opt-in alarm ---------------------------------------------------------------
  const toggle = document.getElementById("alarm-toggle");
  if (!toggle) return;
  let audio = null;
  let flashing = null;
  const baseTitle = document.title;
  // Alerts already loud when the page opened, or already announced: never twice.
  const heard = new Set();
  for (const row of document.querySelectorAll("#alert-rows tr[data-alert]")) {
    heard.add(row.dataset.alert + ":" + row.dataset.severity);
  }

  function enabled() {
    try {
      return window.localStorage.getItem(KEY) === "on";
    } catch (_error) {
      return false; // storage refused (private mode): the alarm stays off
    }
  }

  function show() {
    const on = enabled();
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.textContent = on ? toggle.dataset.on : toggle.dataset.off;
  }

  function tone() {
    if (!audio) return;
    // Three short beeps at 880 Hz; an envelope avoids clicks.
    const start = audio.currentTime + 0.05;
    for (let i = 0; i < 3; i += 1) {
      const at = start + i * 0.3;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0, at);
      gain.gain.linearRampToValueAtTime(0.3, at + 0.02);
      gain.gain.linearRampToValueAtTime(0, at + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.22);
    }
  }

  function flash(text) {
    if (flashing) clearInterval(flashing);
    const until = Date.now() + FLASH_FOR_MS;
    let bright = false;
    flashing = setInterval(() => {
      bright = !bright;
      if (Date.now() > until || (document.hasFocus() && !document.hidden && !bright)) {
        clearInterval(flashing);
        flashing = null;
        document.title = baseTitle;
        return;
      }
      document.title = bright ? "⚠ " + text : baseTitle;
    }, FLASH_MS);
    document.title = "⚠ " + text;
  }

  function notify(alert, text) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const note = new Notification(toggle.dataset.title, {
      body: text,
      tag: "taydo-alert-" + alert.id,
    });
    note.onclick = () => {
      window.focus();
      window.location.href = "/alerts/" + alert.id;
    };
  }

  toggle.hidden = false;
  show();
  toggle.addEventListener("click", () => {
    const on = !enabled();
    try {
      window.localStorage.setItem(KEY, on ? "on" : "off");
    } catch (_error) {
      return;
    }
    show();
    if (on) {
      // This click is the gesture browsers require before sound and notifications.
      if (!audio && window.AudioContext) audio = new window.AudioContext();
      if (audio && audio.state === "suspended") audio.resume();
      if ("Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
    }
  });
  // A page opened with the alarm already on gets its sound at the first gesture.
  document.addEventListener(
    "pointerdown",
    () => {
      if (enabled() && !audio && window.AudioContext) audio = new window.AudioContext();
    },
    { once: true },
  );

  document.body.addEventListener("taydo:alert", (event) => {
    const alert = event.detail || {};
    if (!alert.id || alert.state !== "firing" || !LOUD.has(alert.severity)) return;
    const key = alert.id + ":" + alert.severity;
    if (heard.has(key)) return;
    heard.add(key);
    if (!enabled()) return;
    const lang = document.documentElement.lang || "vi";
    const text = (lang.startsWith("en") && alert.title_en) || alert.title || "";
    document.body.dataset.alarms = String(Number(document.body.dataset.alarms || 0) + 1);
    tone();
    flash(text);
    notify(alert, text);
  });
})();
