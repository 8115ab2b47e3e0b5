// Draws the Insights page's Plotly figures from the JSON the page carries.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("insight-charts");
    if (!source || !window.Plotly) return;
    var figures = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var figure = figures[element.dataset.chart];
      if (!figure) return;
      window.Plotly.newPlot(element, figure.data, figure.layout, { responsive: true, displaylogo: false });
      element.on("plotly_click", function (event) {
        var url = event.points && event.points[0] && event.points[0].customdata;
        if (typeof url === "string" && url.charAt(0) === "/") window.location.href = url;
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
