// 研判队列: refresh the queue every few seconds and count down each decision window.
// A form someone is typing in is never replaced.
(function () {
  "use strict";
  var box = document.getElementById("triage-queue");
  if (!box) { return; }
  var url = box.getAttribute("data-refresh");
  var every = Number(box.getAttribute("data-every") || "5") * 1000;
  // server now - browser now: the countdowns follow the server's clock, not the browser's
  var offset = (Date.parse(box.getAttribute("data-now")) - Date.now()) || 0;

  function busy() {
    var el = document.activeElement;
    return el && box.contains(el) && (el.tagName === "INPUT" || el.tagName === "SELECT");
  }

  function tick() {
    var now = Date.now() + offset;
    box.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("data-deadline")) - now) / 1000);
      el.textContent = left > 0
        ? "剩 " + Math.floor(left / 60) + " 分 " + (left % 60) + " 秒"
        : "已到时，即将自动派发";
      el.classList.toggle("late", left <= 60);
    });
  }

  function refresh() {
    if (busy()) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        var now = r.headers.get("X-Server-Now");
        if (r.ok && now) { offset = Date.parse(now) - Date.now(); }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && !busy()) { box.innerHTML = html; tick(); }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  tick();
  setInterval(tick, 1000);
  setInterval(refresh, every);
})();
