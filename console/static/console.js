// Every page: on a phone the header's links fold into one menu button.
(function () {
  "use strict";
  var button = document.getElementById("menu-toggle");
  var menu = document.getElementById("top-menu");
  if (!button || !menu) { return; }
  button.addEventListener("click", function () {
    var open = menu.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();

// Countdowns outside the live inbox (an alert's page): count from the server's now,
// rendered into <body data-now>, never from the browser's clock.
(function () {
  "use strict";
  var offset = (Date.parse(document.body.getAttribute("data-now")) - Date.now()) || 0;
  function span(minutes) {
    if (minutes >= 1440) { return Math.floor(minutes / 1440) + " 天 " + Math.floor((minutes % 1440) / 60) + " 小时"; }
    if (minutes >= 60) { return Math.floor(minutes / 60) + " 小时 " + (minutes % 60) + " 分"; }
    return minutes + " 分";
  }
  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll(".countdown[data-deadline][data-warn]").forEach(function (el) {
      if (el.closest("#inbox-live")) { return; }  // inbox.js keeps those
      var left = Date.parse(el.getAttribute("data-deadline")) - now;
      var kind = left < 0 ? "late" : (now >= Date.parse(el.getAttribute("data-warn")) ? "warn" : "ok");
      el.textContent = (left < 0 ? "已超时 " : "剩 ") + span(Math.floor(Math.abs(left) / 60000));
      ["ok", "warn", "late"].forEach(function (k) { el.classList.toggle("cd-" + k, k === kind); });
    });
  }
  if (document.querySelector(".countdown[data-deadline][data-warn]")) { setInterval(tick, 1000); }
})();
