// Settlement import page: polls the batch's status until it is done, then reloads.
// Reads the status URL from <div id="import-progress" data-status-url="...">.
(function () {
  "use strict";
  const root = document.getElementById("import-progress");
  if (!root || !root.dataset.statusUrl) {
    return;
  }
  (function poll() {
    fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        const bar = document.getElementById("bar");
        bar.style.width = s.percent + "%";
        bar.textContent = s.percent + "%";
        document.getElementById("status").textContent = s.status_display;
        if (s.busy) { setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  })();
})();
