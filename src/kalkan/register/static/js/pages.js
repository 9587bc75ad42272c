/* kalkan register: small behaviours shared by every page (no framework; htmx does the rest). */
(function () {
  "use strict";
  // htmx requests carry the CSRF token of the page.
  document.body.addEventListener("htmx:configRequest", function (event) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  // The service worker keeps the report form and its assets for opening without a connection
  // (browsers allow it on https:// and localhost only).
  if ("serviceWorker" in navigator && window.isSecureContext && document.querySelector("form[data-signout]")) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* the pages work without it */ });
  }

  // Warn before signing out while reports still wait on this device (shared devices: offer to purge).
  document.querySelectorAll("form[data-signout]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      if (!window.kalkanOutbox || form.dataset.confirmed) { return; }
      event.preventDefault();
      let waiting = [];
      try { waiting = await window.kalkanOutbox.waiting(); } catch (e) { waiting = []; }
      if (waiting.length && !window.confirm(form.dataset.warning.replace("{n}", String(waiting.length)))) {
        return;
      }
      form.dataset.confirmed = "1";
      // A shared device keeps no copy of this user's form.
      if (window.caches) { try { await caches.delete("kalkan-pages-v1"); } catch (e) { /* none */ } }
      form.submit();
    });
  });
})();
