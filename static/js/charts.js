// Draws every figure the page embedded with json_script (see dashboard/charts.py); no inline scripts.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("script[id$=\"-figure\"]").forEach(function (node) {
      var figure = JSON.parse(node.textContent);
      var target = document.getElementById(figure.id);
      if (!target || !window.Plotly) { return; }
      window.Plotly.newPlot(target, figure.data, figure.layout, figure.config).then(function () {
        target.setAttribute("data-rendered", "true");
      });
    });
    document.querySelectorAll("form.filters select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
