/* rxledger: the little behaviour the pages need on top of htmx. No inline scripts (CSP). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function pickerOf(element) {
    return element.closest("[data-picker]");
  }

  function focusAfterPick(picker) {
    var form = picker.closest("form");
    var picked = picker.querySelector("input[name=item_id]");
    var next = form && form.querySelector("[data-after-pick]");
    var scan = picker.querySelector("input[data-scan]");
    if (picked && next) {
      next.focus();
      if (next.select) next.select();
    } else if (scan) {
      scan.focus();
      scan.select();
    }
  }

  // A keyboard-wedge scanner types the barcode and presses Enter: resolve the product there and
  // then, never submit a half-filled form.
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !(input instanceof HTMLInputElement) || !input.matches("[data-scan]")) {
      return;
    }
    event.preventDefault();
    var code = input.value.trim();
    var picker = pickerOf(input);
    if (!code || !picker || !window.htmx) return;
    var url = picker.getAttribute("data-pick-url") + "&code=" + encodeURIComponent(code);
    window.htmx.ajax("GET", url, { target: picker, swap: "outerHTML" });
  });

  // A scanned DataMatrix carries the lot and expiry: fill the form's empty lot fields with them.
  function fillFromScan(picker) {
    var picked = picker.querySelector("[data-picked]");
    var form = picker.closest("form");
    if (!picked || !form) return;
    [["lot_number", "data-scan-lot"], ["expiry", "data-scan-expiry"]].forEach(function (pair) {
      var field = form.querySelector("input[name=" + pair[0] + "]");
      var value = picked.getAttribute(pair[1]);
      if (field && value && !field.value) field.value = value;
    });
  }

  function onLoad(content) {
    if (content.matches && content.matches("[data-picker]")) {
      fillFromScan(content);
      focusAfterPick(content);
    }
    drawCharts(content);
  }

  // The site switcher posts as soon as a site is chosen.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.matches("[data-autosubmit]") && target.form) {
      target.form.requestSubmit();
    }
  });

  // One click posts once (the idempotency key makes a second post harmless anyway).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-once]")) return;
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.dataset.sent = "";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  function drawCharts(root) {
    if (!window.Chart) return;
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [{ label: data.label, data: data.values, backgroundColor: "#0f766e", hoverBackgroundColor: "#0b5a54", borderRadius: 4, maxBarThickness: 42 }]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: {
            y: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: "#eef1f4" } },
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } }
          }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    if (window.htmx) window.htmx.onLoad(onLoad);
  });
})();
