// 告警收件箱, live: polls its list (/inbox/list) every few seconds, marks new alerts,
// counts every deadline down from the server's clock (not the browser's), and, if the
// user opted in (remembered in localStorage), beeps and shows a desktop notification
// when an alert arrives or a deadline is about to pass.
(function () {
  "use strict";
  var box = document.getElementById("inbox-live");
  if (!box) { return; }
  var url = box.getAttribute("data-refresh");
  var every = Number(box.getAttribute("data-every") || "5") * 1000;
  // a new alert lands on page 1; on later pages a card is new only because others moved
  var firstPage = (box.getAttribute("data-page") || "1") === "1";
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  // server now - browser now, in ms: the page counts from the server's clock
  var offset = Date.parse(box.getAttribute("data-now")) - Date.now();
  var known = ids();
  var warned = {};
  var sound = document.getElementById("opt-sound");
  var notify = document.getElementById("opt-notify");
  var state = document.getElementById("live-state");

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }
  function stored(key) {
    try { return window.localStorage.getItem(key) === "1"; } catch (e) { return false; }
  }
  if (sound) {
    sound.checked = stored("yuqing.sound");
    sound.addEventListener("change", function () { store("yuqing.sound", sound.checked ? "1" : "0"); });
  }
  if (notify) {
    if (!("Notification" in window)) {
      notify.disabled = true;
      notify.parentNode.title = "此浏览器不支持桌面通知";
    } else {
      notify.checked = stored("yuqing.notify") && Notification.permission === "granted";
      notify.addEventListener("change", function () {
        if (!notify.checked) { store("yuqing.notify", "0"); return; }
        Notification.requestPermission().then(function (p) {
          notify.checked = p === "granted";
          store("yuqing.notify", notify.checked ? "1" : "0");
        });
      });
    }
  }

  function ids() {
    var out = {};
    box.querySelectorAll(".alert-card[data-alert-id]").forEach(function (el) {
      out[el.getAttribute("data-alert-id")] = true;
    });
    return out;
  }

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio: the page still shows it */ }
  }

  function tellUser(title, body, id) {
    if (sound && sound.checked) { beep(); }
    if (notify && notify.checked && "Notification" in window && Notification.permission === "granted") {
      try {
        var n = new Notification(title, { body: body, tag: "yuqing-" + id });
        n.onclick = function () { window.focus(); window.location.href = "/alerts/" + id; };
      } catch (e) { /* some browsers allow notifications from a service worker only */ }
    }
  }

  function span(minutes) {
    if (minutes >= 1440) { return Math.floor(minutes / 1440) + " 天 " + Math.floor((minutes % 1440) / 60) + " 小时"; }
    if (minutes >= 60) { return Math.floor(minutes / 60) + " 小时 " + (minutes % 60) + " 分"; }
    return minutes + " 分";
  }

  function tick() {
    var now = Date.now() + offset;
    box.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      var warnAt = Date.parse(el.getAttribute("data-warn") || el.getAttribute("data-deadline"));
      var left = deadline - now;
      var minutes = Math.floor(Math.abs(left) / 60000);
      var kind = left < 0 ? "late" : (now >= warnAt ? "warn" : "ok");
      el.textContent = left < 0 ? "已超时 " + span(minutes) : "剩 " + span(minutes);
      el.classList.toggle("cd-ok", kind === "ok");
      el.classList.toggle("cd-warn", kind === "warn");
      el.classList.toggle("cd-late", kind === "late");
      var card = el.closest(".alert-card");
      if (card) {
        card.classList.toggle("overdue", kind === "late");
        var id = card.getAttribute("data-alert-id");
        if (kind !== "ok" && !warned[id]) {
          warned[id] = true;
          if (kind === "warn") { tellUser("时限将至", card.getAttribute("data-title") + "：" + el.textContent, id); }
        }
      }
    });
  }
  // deadlines already near when the page opened are not announced again
  box.querySelectorAll(".alert-card .countdown.cd-warn, .alert-card .countdown.cd-late").forEach(function (el) {
    warned[el.closest(".alert-card").getAttribute("data-alert-id")] = true;
  });

  function showUnread() {
    var list = box.querySelector(".inbox-list");
    var n = list ? Number(list.getAttribute("data-unread") || "0") : 0;
    document.title = (n > 0 ? "(" + n + ") " : "") + baseTitle;
    ["unread-nav", "unread-pill"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.textContent = String(n); el.hidden = n === 0; }
    });
  }

  var last = box.innerHTML;
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        var now = r.headers.get("X-Server-Now");
        if (r.ok && now) { offset = Date.parse(now) - Date.now(); }
        if (state) { state.textContent = r.ok ? "" : "刷新失败，稍后重试"; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== last) {
          last = html;
          box.innerHTML = html;
          var now = ids();
          Object.keys(now).forEach(function (id) {
            if (firstPage && !known[id]) {
              var card = box.querySelector(".alert-card[data-alert-id='" + id + "']");
              if (card) {
                card.classList.add("fresh");
                tellUser("新告警", card.getAttribute("data-title"), id);
              }
            }
          });
          Object.keys(now).forEach(function (id) { known[id] = true; });
          showUnread();
        }
        tick();
      })
      .catch(function () { if (state) { state.textContent = "网络中断，稍后重试"; } });
  }

  tick();
  setInterval(tick, 1000);
  setInterval(refresh, every);
})();
