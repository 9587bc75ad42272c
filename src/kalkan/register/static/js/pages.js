/* kalkan register: small behaviours shared by every page (no framework; htmx does the rest). */
(function () {
  "use strict";
  // htmx requests carry the CSRF token of the page.
  document.body.addEventListener("htmx:configRequest", function (event) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  // Warn before signing out while reports still wait on this device (shared devices: offer to purge).
  document.querySelectorAll("form[data-signout]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      if (!window.kalkanOutbox || form.dataset.confirmed) { return; }
      event.preventDefault();
      let waiting = [];
      try { waiting = await window.kalkanOutbox.all(); } catch (e) { waiting = []; }
      if (waiting.length && !window.confirm(form.dataset.warning.replace("{n}", String(waiting.length)))) {
        return;
      }
      form.dataset.confirmed = "1";
      form.submit();
    });
  });
})();
