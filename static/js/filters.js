// The filter bar's custom range (templates/dashboard/includes/filters.html). A static file: the
// Content-Security-Policy allows no inline script.
//  - choosing a date switches the period menu to "custom" (set in code: no change event, so no auto-submit);
//  - on submit, the dates go only with a custom period, and empty fields are left out of the URL;
//  - a custom period without a start date is not sent: the "from" field gets the focus instead.
(function () {
  "use strict";
  function wire(form) {
    var period = form.querySelector("select[name=period]");
    var dates = form.querySelectorAll("input[type=date]");
    if (!period || dates.length === 0) { return; }
    dates.forEach(function (input) {
      input.addEventListener("change", function () { if (input.value) { period.value = "custom"; } });
    });
    form.addEventListener("submit", function (event) {
      var start = form.querySelector("input[name=from]");
      if (period.value === "custom" && start && !start.value) {
        event.preventDefault();
        start.focus();
        return;
      }
      form.querySelectorAll("input, select").forEach(function (field) {
        var isDate = field.type === "date";
        if ((isDate && period.value !== "custom") || (field.name && field.value === "" && field.type !== "submit")) {
          field.disabled = true;  // disabled fields are not submitted
        }
      });
    });
    // Back to this page from the browser's cache: the fields left out of the last submit are usable again.
    window.addEventListener("pageshow", function () {
      form.querySelectorAll("input:disabled, select:disabled").forEach(function (field) { field.disabled = false; });
    });
  }
  function start() { document.querySelectorAll("form.filters").forEach(wire); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
