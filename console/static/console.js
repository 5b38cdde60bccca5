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
