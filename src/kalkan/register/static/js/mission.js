/* kalkan register: the mission's forms (sites, figures, return visits, patrols, detention visits,
 * disputes and their steps), filed through the device's outbox.
 *
 * On "File it" the form's fields go into the outbox (IndexedDB store "mission") under the form's
 * client_id with the address they go to; they leave it only when the register answers 200 or 201.
 * A lost connection keeps them there: they are sent again on reconnect, on a timer with back-off, or
 * on "Send now", with the same client_id, so the register never files them twice. A record the
 * register refuses (4xx) goes back into the form with the reason. Also picks the position on a map.
 */
(function () {
  "use strict";
  const form = document.getElementById("mission-form");
  if (!form || !window.kalkanOutbox) { return; }
  const outbox = window.kalkanOutbox.mission;
  const M = JSON.parse(document.getElementById("mission-messages").textContent);
  const resultEl = document.getElementById("mission-result");
  const errorsEl = document.getElementById("mission-errors");

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return String(values[key]); });
  }
  function field(name) { return form.elements.namedItem(name); }
  function announce(text, href) {
    resultEl.textContent = text;
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = M.open;
      resultEl.append(" ", a);
    }
  }
  function showError(text) {
    errorsEl.textContent = text;
    errorsEl.hidden = !text;
    if (text) { errorsEl.focus(); }
  }
  function entries() {
    const out = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf" && typeof value === "string") { out.push([name, value]); }
    });
    return out;
  }
  function fill(pairs) {
    form.reset();
    pairs.forEach(function (pair) {
      form.querySelectorAll('[name="' + CSS.escape(pair[0]) + '"]').forEach(function (el) {
        if (el.type === "checkbox") { el.checked = el.value === pair[1]; } else { el.value = pair[1]; }
      });
    });
  }

  async function render(statusText) {
    let records = [];
    try { records = await outbox.all(); } catch (e) { records = []; }
    const section = document.getElementById("mission-outbox");
    const list = document.getElementById("mission-outbox-list");
    section.hidden = records.length === 0;
    list.replaceChildren();
    records.sort(window.kalkanOutbox.byQueuedAt);
    records.forEach(function (record) {
      const li = document.createElement("li");
      li.dataset.clientId = record.client_id;
      li.textContent = record.summary + (record.last_error ? " — " + record.last_error : "");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = M.delete;
      remove.addEventListener("click", async function () { await outbox.remove(record.client_id); render(); });
      li.append(" ", remove);
      list.append(li);
    });
    const waiting = records.filter(function (r) { return !r.rejected; }).length;
    document.getElementById("mission-outbox-status").textContent = statusText ||
      (waiting ? fmt(M.waiting, { n: waiting }) : "");
    return records;
  }

  const sender = window.kalkanOutbox.sender({
    store: outbox,
    url: function (record) { return record.action; },
    body: function (record) {
      const body = new URLSearchParams();
      record.entries.forEach(function (pair) { body.append(pair[0], pair[1]); });
      return body;
    },
    problem: function (kind, outcome) {
      if (kind === "signin") { return M.signin; }
      if (kind === "rejected") { return fmt(M.rejected, { detail: (outcome.payload && outcome.payload.detail) || outcome.status }); }
      return M.offline;
    },
    sent: function (outcome) {
      announce(fmt(outcome.status === 201 ? M.sent : M.sent_again, { id: outcome.payload.id }), outcome.payload.url);
    },
    done: async function (failed) { await render(failed ? M.offline : ""); },
  });
  const flush = sender.flush;

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    showError("");
    const record = {
      client_id: field("client_id").value,
      action: form.getAttribute("action"),
      kind: form.dataset.outbox,
      entries: entries(),
      queued_at: new Date().toISOString(),
      last_error: "",
      rejected: false,
      summary: form.dataset.summary + " (" + new Date().toLocaleString(document.documentElement.lang) + ")",
    };
    await outbox.put(record);
    form.reset();
    field("client_id").value = window.kalkanOutbox.uuid4();
    announce(M.queued);
    await render();
    await flush();
    // A record refused at once comes back into the form to be corrected.
    const back = (await outbox.all()).find(function (r) { return r.client_id === record.client_id && r.rejected; });
    if (back) {
      fill(back.entries);
      await outbox.remove(back.client_id);
      await render();
      announce("");
      showError(back.last_error);
    }
  });
  document.getElementById("mission-outbox-send").addEventListener("click", sender.sendNow);

  // --- the position on a map (no tiles needed) ------------------------------------------------------
  const mapEl = document.getElementById("pick-map");
  if (mapEl && window.L && field("latitude")) {
    const center = JSON.parse(mapEl.dataset.center);
    const map = L.map(mapEl, { preferCanvas: true }).setView([center[0], center[1]], center[2]);
    window.kalkanPickMap = map;
    if (mapEl.dataset.tiles) { L.tileLayer(mapEl.dataset.tiles, { maxZoom: 18 }).addTo(map); }
    let marker = null;
    function sync() {
      const lat = parseFloat(field("latitude").value);
      const lon = parseFloat(field("longitude").value);
      if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
        if (!marker) { marker = L.circleMarker([lat, lon], { radius: 8, color: "#b00020", weight: 3 }).addTo(map); }
        marker.setLatLng([lat, lon]);
      } else if (marker) { marker.remove(); marker = null; }
    }
    fetch(mapEl.dataset.districts, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (geojson) {
        if (geojson) { L.geoJSON(geojson, { style: { color: "#555", weight: 1, fillOpacity: 0.04 }, interactive: false }).addTo(map); }
      }).catch(function () { /* outlines are a help */ });
    if (window.kalkanPlaces) {
      window.kalkanPlaces(map, mapEl.dataset.places, function (place) {
        field("latitude").value = place.lat.toFixed(5);
        field("longitude").value = place.lon.toFixed(5);
        if (field("place_name")) { field("place_name").value = place.name; }
        if (field("admin2") && place.district) { field("admin2").value = place.district; }
        sync();
      });
    }
    map.on("click", function (e) {
      field("latitude").value = e.latlng.lat.toFixed(5);
      field("longitude").value = e.latlng.lng.toFixed(5);
      sync();
    });
    ["latitude", "longitude"].forEach(function (name) { field(name).addEventListener("input", sync); });
  }

  render().then(function (records) { if (records.some(function (r) { return !r.rejected; })) { flush(); } });
})();
