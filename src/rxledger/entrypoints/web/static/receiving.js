/* rxledger: the receiving session page. A keyboard-wedge scanner types the barcode and presses
   Enter: the text is taken at once (GS characters included), the field is cleared for the next
   package, and the scan is posted through htmx; answers are swapped in the order the scans were
   made, and the focus stays in the scan field. No inline scripts (CSP). */
(function () {
  "use strict";
  var pending = Promise.resolve();

  function scanField() {
    return document.querySelector("[data-receiving-scan]") || document.querySelector("[data-shelf-scan]");
  }

  function refocus() {
    var field = scanField();
    if (field && document.activeElement !== field) field.focus();
  }

  function valuesOf(form, input) {
    var packages = form.querySelector("input[name=packages]");
    var damaged = form.querySelector("input[name=damaged]");
    var values = {
      scan: input.value,
      packages: packages && packages.value ? packages.value : "1",
      damaged: damaged && damaged.checked ? "1" : ""
    };
    input.value = "";
    if (packages) packages.value = "1";
    if (damaged) damaged.checked = false;
    return values;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-scan-form]") || !window.htmx) return;
    event.preventDefault();
    var input = form.querySelector("[data-receiving-scan]");
    if (!input || !input.value.trim()) return;
    var values = valuesOf(form, input);
    input.focus();
    pending = pending.then(function () {
      return window.htmx.ajax("POST", form.getAttribute("action"), {
        source: form, target: "#receiving-panel", swap: "outerHTML", values: values
      });
    }).catch(function () { /* the panel shows refusals; a lost connection leaves it as it was */ });
  });

  // After any swap of the panel (a scan, a count), the next thing is a scan.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id === "receiving-panel" || (target.closest && target.closest("#receiving-panel"))) {
      refocus();
    }
  });
})();
