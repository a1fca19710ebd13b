// Draws every figure the page embedded with json_script (see dashboard/web/charts.py); no inline scripts.
(function () {
  "use strict";
  var NARROW_PX = 560; // below this chart width (a phone), titles wrap and type and margins shrink
  var TITLE_CHARS = 36; // a longer title is wrapped at a space on a narrow chart

  function wrapped(title) {
    if (title.length <= TITLE_CHARS || title.indexOf("<br>") >= 0) { return title; }
    var cut = title.lastIndexOf(" ", Math.ceil(title.length / 2));
    return cut > 0 ? title.slice(0, cut) + "<br>" + title.slice(cut + 1) : title;
  }

  // The server's layout, made to fit a narrow chart: Plotly neither wraps a title nor shrinks its margins.
  function fitted(layout, width) {
    if (width >= NARROW_PX) { return layout; }
    var title = layout.title || {};
    return Object.assign({}, layout, {
      title: Object.assign({}, title, { text: wrapped(title.text || ""), font: { size: 13 } }),
      margin: { l: 44, r: 44, t: 56, b: 36 },
      font: Object.assign({}, layout.font, { size: 10 }),
      legend: Object.assign({}, layout.legend, { font: { size: 10 } })
    });
  }

  function draw() {
    document.querySelectorAll("script[id$=\"-figure\"]").forEach(function (node) {
      var figure = JSON.parse(node.textContent);
      var target = document.getElementById(figure.id);
      if (!target || !window.Plotly) { return; }
      var layout = fitted(figure.layout, target.clientWidth);
      window.Plotly.newPlot(target, figure.data, layout, figure.config).then(function () {
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
