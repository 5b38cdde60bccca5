// Charts drawn by Apache ECharts (served from /static/vendor, no CDN) from the option the
// server rendered beside each <div class="echart"> (reports/charts.py, Chart.option()).
(function () {
  "use strict";
  var boxes = document.querySelectorAll("figure.echart-box");
  if (!boxes.length) { return; }
  if (!window.echarts) {
    boxes.forEach(function (fig) {
      var el = fig.querySelector(".echart");
      if (el) { el.textContent = "图表脚本未加载（console/static/vendor 缺少 ECharts，请运行 make vendor）；数据见下表。"; }
    });
    return;
  }
  function number(v, unit) {
    if (v === null || v === undefined || v === "-" || (typeof v === "number" && isNaN(v))) { return "—"; }
    var n = Number(v);
    return (Math.round(n) === n ? String(n) : n.toFixed(1)) + unit;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var charts = [];
  boxes.forEach(function (fig) {
    var el = fig.querySelector(".echart");
    var src = fig.querySelector("script.echart-option");
    if (!el || !src) { return; }
    var option = JSON.parse(src.textContent);
    var unit = el.getAttribute("data-unit") || "";
    var tree = option.series && option.series[0] && option.series[0].type === "treemap";
    option.tooltip = option.tooltip || {};
    if (tree) {
      // the area's path, its posts and its open alerts (the series' own names)
      option.tooltip.formatter = function (info) {
        var path = (info.treePathInfo || []).slice(1).map(function (p) { return esc(p.name); }).join(" / ");
        var d = info.data || {};
        return (path || esc(info.name)) + "<br>" + esc(info.seriesName) + "：" + number(info.value, " 条") +
          "<br>未办结告警：" + number(d.alerts || 0, " 条");
      };
    } else {
      option.tooltip.valueFormatter = function (v) { return number(v, unit); };
    }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    el.setAttribute("data-rendered", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
