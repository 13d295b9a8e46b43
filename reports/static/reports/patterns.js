/* The regulator's pattern report (reports/templates/reports/pattern_report.html): draws the trend lines with the
   vendored Chart.js from the figures the page carries as JSON, and shows the Print button. Without JavaScript
   the page still holds every figure, in the tables under each chart. A hidden count arrives as null and is
   left a gap in its line. */
(function () {
  "use strict";

  var printButton = document.getElementById("print-report");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  // The printed report shows the figures' tables: open them for the print and close them again after.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll(".pattern-report details:not([open])").forEach(function (box) {
      box.open = true;
      opened.push(box);
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (box) { box.open = false; });
    opened = [];
  });

  var source = document.getElementById("pattern-chart-data");
  if (!source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  var Chart = window.Chart;
  // Distinct colours and dashes, so that lines stay apart in print and for colour-blind readers.
  var colours = ["#1f6f5c", "#b8562f", "#3b5ba5"];
  var dashes = [[], [6, 4], [2, 3]];
  var styles = getComputedStyle(document.body);
  Chart.defaults.font.family = styles.fontFamily;
  Chart.defaults.color = "#1d2320";

  function format(value, percent) {
    if (value === null || value === undefined) return data.hidden;
    var text = new Intl.NumberFormat(data.locale, { maximumFractionDigits: 1 }).format(value);
    return percent ? text + "%" : text;
  }

  var charts = data.charts.map(function (chart) {
    var canvas = document.getElementById("chart-" + chart.id);
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: chart.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data,
            borderColor: colours[index % colours.length],
            backgroundColor: colours[index % colours.length],
            borderDash: dashes[index % dashes.length],
            borderWidth: 2,
            pointRadius: 3,
            tension: 0.2,
            spanGaps: false,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: data.locale,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", rtl: data.rtl, textDirection: data.rtl ? "rtl" : "ltr",
                    labels: { boxWidth: 14, boxHeight: 2 } },
          tooltip: {
            rtl: data.rtl,
            textDirection: data.rtl ? "rtl" : "ltr",
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + format(context.raw, chart.percent);
              },
            },
          },
        },
        scales: {
          // Right to left, time runs from the right, and the values' axis stands on the right.
          x: { reverse: data.rtl, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 8 } },
          y: {
            position: data.rtl ? "right" : "left",
            beginAtZero: true,
            suggestedMax: chart.percent ? 100 : undefined,
            ticks: {
              precision: 0,
              callback: function (value) { return format(value, chart.percent); },
            },
          },
        },
      },
    });
  });

  // Redraw at the paper's width for the print, and back at the screen's after it.
  window.addEventListener("beforeprint", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
  window.addEventListener("afterprint", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
