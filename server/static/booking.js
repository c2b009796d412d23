// Shows the price as the booking form changes; the form works without it.
(function () {
  "use strict";
  var form = document.getElementById("booking-form");
  if (!form) { return; }
  var price = document.getElementById("price");
  var counts = ["adults", "children", "pensioners", "disabled", "veterans", "preschool", "residents"];
  var timer = null;

  function body() {
    var party = {};
    counts.forEach(function (name) {
      var value = parseInt(form.elements[name].value, 10);
      party[name] = isNaN(value) || value < 0 ? 0 : value;
    });
    var vehicle = form.elements.vehicle_class.value;
    var result = { park: form.dataset.park, day: form.elements.day.value, party: party };
    if (vehicle) { result.vehicle_class = vehicle; }
    return result;
  }

  function update() {
    fetch("/api/v1/public/quote?lang=" + encodeURIComponent(form.dataset.lang), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body())
    }).then(function (response) {
      return response.json().then(function (data) {
        price.textContent = response.ok ? data.total_text : "—";
        price.title = response.ok ? "" : (data.detail || "");
      });
    }).catch(function () { price.textContent = "—"; });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  });
  update();
}());
