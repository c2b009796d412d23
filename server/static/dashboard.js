// Draws the park dashboard's charts from the page's JSON blocks (#dashboard-data, #chart-labels).
// Axis labels and series names come formatted in the page's language; Chart.js formats the numbers with
// the same locale. A page without Chart.js (or without charts) shows its tables only.
(function () {
  "use strict";
  var dataBlock = document.getElementById("dashboard-data");
  var labelBlock = document.getElementById("chart-labels");
  if (!dataBlock || !labelBlock || typeof Chart === "undefined") { return; }
  var data = JSON.parse(dataBlock.textContent);
  var labels = JSON.parse(labelBlock.textContent);
  var series = { today: labels.series[0], lastWeek: labels.series[1], lastYear: labels.series[2],
                 entries: labels.series[3], yearBefore: labels.series[4] };
  var options = { animation: false, responsive: true, locale: document.documentElement.lang };
  var field = function (rows, name) { return rows.map(function (row) { return row[name]; }); };

  function line(id, axis, sets) {
    return new Chart(document.getElementById(id), { type: "line", data: { labels: axis, datasets: sets }, options: options });
  }

  line("hourly", labels.hours, [
    { label: series.today, data: data.hourly.today, borderColor: "#1f6b4a" },
    { label: series.lastWeek, data: data.hourly.last_week, borderColor: "#b26b00" },
    { label: series.lastYear, data: data.hourly.last_year, borderColor: "#8a8f8c" }
  ]);
  line("daily", labels.days, [
    { label: series.entries, data: field(data.daily, "entries"), borderColor: "#1f6b4a" },
    { label: series.yearBefore, data: field(data.daily, "last_year"), borderColor: "#8a8f8c" }
  ]);
  new Chart(document.getElementById("monthly"), {
    type: "bar",
    options: options,
    data: {
      labels: labels.months,
      datasets: [
        { label: series.entries, data: field(data.monthly, "entries"), backgroundColor: "#1f6b4a" },
        { label: series.yearBefore, data: field(data.monthly, "last_year"), backgroundColor: "#c9cfcc" }
      ]
    }
  });
}());
