// Behaviour of every page, without inline script (Content-Security-Policy: script-src 'self').
// Templates describe what they want with data-* attributes:
//   <select data-autosubmit>                 submits its form when changed
//   <button data-confirm="question">         asks before submitting
//   <input type="checkbox" data-check-all=".row-check">  ticks/unticks those boxes
//   <div data-width-percent="42">            sets its width (progress bars)
//   <div data-height-percent="42">           sets its height (bar charts)
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.matches("select[data-autosubmit]") && target.form) {
      target.form.submit();
    }
    if (target.matches("[data-check-all]")) {
      document.querySelectorAll(target.dataset.checkAll).forEach(function (box) {
        box.checked = target.checked;
      });
    }
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  function applySizes(root) {
    root.querySelectorAll("[data-width-percent]").forEach(function (el) {
      el.style.width = el.dataset.widthPercent + "%";
    });
    root.querySelectorAll("[data-height-percent]").forEach(function (el) {
      el.style.height = el.dataset.heightPercent + "%";
    });
  }

  window.portal = { applySizes: applySizes };
  applySizes(document);
})();
