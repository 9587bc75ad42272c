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
  let sending = false;
  let retryTimer = null;
  let retryDelay = 2000;

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return String(values[key]); });
  }
  function csrf() { return document.querySelector('meta[name="csrf-token"]').content; }
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
    records.sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });
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

  function scheduleRetry() {
    if (retryTimer) { return; }
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 60000);
  }

  async function sendOne(record) {
    const body = new URLSearchParams();
    record.entries.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.append("csrf", csrf());
    const controller = new AbortController();
    const timeout = window.setTimeout(function () { controller.abort(); }, 30000);
    try {
      const response = await fetch(record.action, {
        method: "POST", body: body, credentials: "same-origin", signal: controller.signal,
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
      });
      let payload = {};
      try { payload = await response.json(); } catch (e) { payload = {}; }
      return { status: response.status, payload: payload };
    } finally {
      window.clearTimeout(timeout);
    }
  }

  async function flush() {
    if (sending) { return; }
    sending = true;
    let failed = false;
    try {
      const records = (await outbox.all()).filter(function (r) { return !r.rejected; });
      records.sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });
      for (const record of records) {
        let outcome;
        try {
          outcome = await sendOne(record);
        } catch (e) {
          record.last_error = M.offline;
          await outbox.put(record);
          failed = true;
          break;
        }
        if (outcome.status === 200 || outcome.status === 201) {
          await outbox.remove(record.client_id);
          announce(fmt(outcome.status === 201 ? M.sent : M.sent_again, { id: outcome.payload.id }), outcome.payload.url);
          document.dispatchEvent(new CustomEvent("kalkan:acknowledged",
            { detail: { client_id: record.client_id, id: outcome.payload.id, status: outcome.status } }));
        } else if (outcome.status === 401 || outcome.status === 403) {
          record.last_error = M.signin;
          await outbox.put(record);
          failed = true;
          break;
        } else if (outcome.status >= 400 && outcome.status < 500 && outcome.status !== 408 && outcome.status !== 429) {
          record.rejected = true;
          record.last_error = fmt(M.rejected, { detail: (outcome.payload && outcome.payload.detail) || outcome.status });
          await outbox.put(record);
        } else {
          record.last_error = M.offline;
          await outbox.put(record);
          failed = true;
          break;
        }
      }
    } finally {
      sending = false;
    }
    await render(failed ? M.offline : "");
    if (failed) { scheduleRetry(); } else { retryDelay = 2000; }
  }

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
  document.getElementById("mission-outbox-send").addEventListener("click", function () {
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    retryDelay = 2000;
    flush();
  });
  window.addEventListener("online", function () { retryDelay = 2000; flush(); });

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
