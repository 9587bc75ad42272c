/* kalkan register: the report form.
 *
 * - keeps the draft in localStorage while the monitor types (lost tab, flat battery: it is there again);
 * - on "Send", moves the report (fields and files) into the device's outbox with its client_id, then
 *   sends it; it leaves the outbox only when the register answers 200/201;
 * - after a lost connection it re-sends with the same client_id (on reconnect, on a timer with back-off,
 *   or on "Send now"), so the register never counts it twice;
 * - picks the position on a Leaflet map (no tiles needed: district outlines come from the register).
 */
(function () {
  "use strict";
  const form = document.getElementById("report-form");
  if (!form || !window.kalkanOutbox) { return; }
  const outbox = window.kalkanOutbox;
  const M = JSON.parse(document.getElementById("report-messages").textContent);
  const DRAFT_KEY = "kalkan.report.draft";
  const SKIP = new Set(["csrf"]);
  const resultEl = document.getElementById("report-result");
  const errorsEl = document.getElementById("form-errors");

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return String(values[key]); });
  }
  function nowIso() {
    const d = new Date();
    const offset = -d.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    const pad = function (n) { return String(Math.floor(Math.abs(n))).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) +
      ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + sign + pad(offset / 60) + ":" + pad(offset % 60);
  }

  // --- reading and writing the form ----------------------------------------------------------------
  function entries() {
    const out = [];
    new FormData(form).forEach(function (value, name) {
      if (!SKIP.has(name) && typeof value === "string") { out.push([name, value]); }
    });
    return out;
  }
  function files() {
    const out = [];
    form.querySelectorAll('input[type="file"]').forEach(function (input) {
      Array.from(input.files || []).forEach(function (file) {
        out.push({ field: input.name, name: file.name, type: file.type, blob: file });
      });
    });
    return out;
  }
  function ensureWitnessRows(count) {
    while (form.querySelectorAll("[data-witness]").length < count) { addWitness(); }
  }
  function fill(pairs, fileList) {
    form.reset();
    let witnesses = 0;
    pairs.forEach(function (pair) {
      const m = /^witnesses\.(\d+)\./.exec(pair[0]);
      if (m) { witnesses = Math.max(witnesses, Number(m[1]) + 1); }
    });
    ensureWitnessRows(witnesses);
    pairs.forEach(function (pair) {
      const fields = form.querySelectorAll('[name="' + CSS.escape(pair[0]) + '"]');
      fields.forEach(function (field) {
        if (field.type === "radio" || field.type === "checkbox") {
          if (field.value === pair[1]) { field.checked = true; }
        } else if (field.type !== "file") {
          field.value = pair[1];
        }
      });
    });
    if (fileList && fileList.length && typeof DataTransfer !== "undefined") {
      const byField = {};
      fileList.forEach(function (f) { (byField[f.field] = byField[f.field] || []).push(f); });
      Object.keys(byField).forEach(function (name) {
        const input = form.querySelector('input[type="file"][name="' + CSS.escape(name) + '"]');
        if (!input) { return; }
        const transfer = new DataTransfer();
        byField[name].forEach(function (f) { transfer.items.add(new File([f.blob], f.name, { type: f.type })); });
        input.files = transfer.files;
      });
    }
    syncMarker();
  }
  function value(name) {
    const field = form.elements.namedItem(name);
    return field && "value" in field ? field.value : "";
  }
  function setValue(name, v) {
    const field = form.elements.namedItem(name);
    if (field && "value" in field) { field.value = v; }
  }

  // --- the draft (while typing) --------------------------------------------------------------------
  function saveDraft() {
    try { localStorage.setItem(DRAFT_KEY, JSON.stringify({ entries: entries(), saved_at: nowIso() })); }
    catch (e) { /* storage full or disabled: the outbox still protects sent reports */ }
  }
  function restoreDraft() {
    let draft = null;
    try { draft = JSON.parse(localStorage.getItem(DRAFT_KEY) || "null"); } catch (e) { draft = null; }
    let restored = false;
    if (draft && Array.isArray(draft.entries) && draft.entries.length) {
      fill(draft.entries, []);
      announce(M.draft_restored);
      restored = true;
    }
    if (!restored || !value("client_id")) {
      // A fresh id for a fresh form: a copy of the form served by the service worker offline
      // carries the id it was rendered with, which must not be reused.
      setValue("client_id", outbox.uuid4());
    }
    defaultDate();
  }
  function defaultDate() {
    // Most reports are of today: start from the device's date (the monitor changes it if not).
    if (!value("date_start")) { setValue("date_start", nowIso().slice(0, 10)); }
  }
  function newReport() {
    try { localStorage.removeItem(DRAFT_KEY); } catch (e) { /* ignore */ }
    form.reset();
    form.querySelectorAll("[data-witness]").forEach(function (row, i) { if (i > 0) { row.remove(); } });
    setValue("client_id", outbox.uuid4());
    setValue("captured_at", "");
    setValue("captured_latitude", "");
    setValue("captured_longitude", "");
    defaultDate();
    syncMarker();
  }

  // --- messages ------------------------------------------------------------------------------------
  function announce(text, link) {
    resultEl.textContent = text;
    if (link) {
      resultEl.append(" ");
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      resultEl.append(a);
    }
  }
  function showErrors(text) {
    errorsEl.textContent = text;
    errorsEl.hidden = !text;
    if (text) { errorsEl.focus(); }
  }

  // --- the outbox view -------------------------------------------------------------------------------
  async function renderOutbox(statusText) {
    let records = [];
    try { records = await outbox.all(); } catch (e) { records = []; }
    const section = document.getElementById("outbox");
    const list = document.getElementById("outbox-list");
    section.hidden = records.length === 0;
    list.replaceChildren();
    records.sort(outbox.byQueuedAt);
    records.forEach(function (record) {
      const li = document.createElement("li");
      li.dataset.clientId = record.client_id;
      const summary = document.createElement("span");
      summary.textContent = fmt(M.outbox_item, { type: record.summary.type_label, date: record.summary.date,
                                                  files: record.files.length });
      li.append(summary);
      if (record.last_error) {
        const err = document.createElement("span");
        err.className = "hint";
        err.textContent = " — " + record.last_error;
        li.append(err);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = M.outbox_delete;
      remove.addEventListener("click", async function () {
        if (window.confirm(M.outbox_delete_confirm)) {
          await outbox.remove(record.client_id);
          renderOutbox();
        }
      });
      li.append(" ", remove);
      if (record.rejected) {
        const edit = document.createElement("button");
        edit.type = "button";
        edit.className = "link";
        edit.textContent = M.outbox_edit;
        edit.addEventListener("click", async function () {
          fill(record.entries, record.files);
          await outbox.remove(record.client_id);
          saveDraft();
          renderOutbox();
          showErrors(record.last_error);
        });
        li.append(" ", edit);
      }
      list.append(li);
    });
    const waiting = records.filter(function (r) { return !r.rejected; }).length;
    document.getElementById("outbox-status").textContent = statusText ||
      (waiting ? fmt(M.outbox_waiting, { n: waiting }) : "");
    return records;
  }

  // --- sending ---------------------------------------------------------------------------------------
  const sender = outbox.sender({
    store: outbox,
    url: function () { return form.action; },
    body: function (record) {
      const body = new FormData();
      record.entries.forEach(function (pair) { body.append(pair[0], pair[1]); });
      record.files.forEach(function (f) { body.append(f.field, new File([f.blob], f.name, { type: f.type })); });
      return body;
    },
    problem: function (kind, outcome) {
      if (kind === "network") { return M.error_network; }
      if (kind === "signin") { return M.error_signin; }
      if (kind === "rejected") {
        return (outcome.payload && outcome.payload.detail) || fmt(M.error_rejected, { status: outcome.status });
      }
      return fmt(M.error_server, { status: outcome.status });
    },
    sent: function (outcome) {
      const p = outcome.payload;
      announce(outcome.status === 201 ? fmt(M.sent, { id: p.id }) : fmt(M.sent_again, { id: p.id }),
               { href: p.url, text: M.open_report });
    },
    done: async function (failed) {
      await renderOutbox(failed ? M.outbox_offline : "");
      if (failed && resultEl.textContent === M.queued) { announce(""); }  // the outbox now says what happens
    },
  });
  const flush = sender.flush;

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    showErrors("");
    if (!form.checkValidity()) {
      form.reportValidity();
      return;
    }
    if (!value("captured_at")) { setValue("captured_at", nowIso()); }
    const typeSelect = form.elements.namedItem("type");
    const record = {
      client_id: value("client_id"),
      entries: entries(),
      files: files(),
      queued_at: nowIso(),
      tries: 0,
      last_error: "",
      rejected: false,
      summary: { type_label: typeSelect.options[typeSelect.selectedIndex].text, date: value("date_start") },
    };
    await outbox.put(record);
    newReport();
    announce(M.queued);
    await renderOutbox();
    await flush();
    // A report the register refused at once goes back into the form to be corrected.
    const back = (await outbox.all()).find(function (r) { return r.client_id === record.client_id && r.rejected; });
    if (back) {
      fill(back.entries, back.files);
      await outbox.remove(back.client_id);
      saveDraft();
      await renderOutbox();
      announce("");
      showErrors(back.last_error);
    }
  });

  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  document.getElementById("outbox-send").addEventListener("click", sender.sendNow);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { flush(); } });

  // --- witnesses -------------------------------------------------------------------------------------
  function addWitness() {
    const rows = form.querySelectorAll("[data-witness]");
    const template = rows[0];
    const index = rows.length;
    const row = template.cloneNode(true);
    row.querySelectorAll("input, label").forEach(function (el) {
      ["id", "for", "name"].forEach(function (attr) {
        const v = el.getAttribute(attr);
        if (v) { el.setAttribute(attr, v.replace(/(\d+)(\D*)$/, index + "$2").replace(/\.0\./, "." + index + ".")); }
      });
      if (el.tagName === "INPUT") { el.value = ""; }
    });
    template.parentNode.append(row);
    return row;
  }
  document.getElementById("add-witness").addEventListener("click", function () {
    addWitness().querySelector("input").focus();
  });

  // --- position --------------------------------------------------------------------------------------
  let pickMap = null;
  let marker = null;
  function syncMarker() {
    if (!pickMap) { return; }
    const lat = parseFloat(value("latitude"));
    const lon = parseFloat(value("longitude"));
    if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
      if (!marker) { marker = L.circleMarker([lat, lon], { radius: 8, color: "#b00020", weight: 3 }).addTo(pickMap); }
      marker.setLatLng([lat, lon]);
    } else if (marker) {
      marker.remove();
      marker = null;
    }
  }
  const mapEl = document.getElementById("pick-map");
  if (mapEl && window.L) {
    const center = JSON.parse(mapEl.dataset.center);
    pickMap = L.map(mapEl, { preferCanvas: true }).setView([center[0], center[1]], center[2]);
    window.kalkanPickMap = pickMap;
    if (mapEl.dataset.tiles) {
      L.tileLayer(mapEl.dataset.tiles, { maxZoom: 18 }).addTo(pickMap);
    }
    fetch(mapEl.dataset.districts, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (geojson) {
      if (geojson) {
        L.geoJSON(geojson, { style: { color: "#555", weight: 1, fillOpacity: 0.04 }, interactive: false }).addTo(pickMap);
      }
    }).catch(function () { /* outlines are a help, not a need */ });
    if (window.kalkanPlaces && mapEl.dataset.places) {
      window.kalkanPlaces(pickMap, mapEl.dataset.places, function (place) {
        setValue("latitude", place.lat.toFixed(5));
        setValue("longitude", place.lon.toFixed(5));
        setValue("place_name", place.name + (place.district ? " (" + place.district + ")" : ""));
        syncMarker();
        saveDraft();
      });
    }
    pickMap.on("click", function (e) {
      setValue("latitude", e.latlng.lat.toFixed(5));
      setValue("longitude", e.latlng.lng.toFixed(5));
      syncMarker();
      saveDraft();
    });
    ["latitude", "longitude"].forEach(function (name) {
      form.elements.namedItem(name).addEventListener("input", syncMarker);
    });
  }
  document.getElementById("use-position").addEventListener("click", function () {
    if (!navigator.geolocation) { announce(M.error_position); return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      const lat = position.coords.latitude.toFixed(5);
      const lon = position.coords.longitude.toFixed(5);
      setValue("latitude", lat);
      setValue("longitude", lon);
      setValue("captured_latitude", lat);
      setValue("captured_longitude", lon);
      setValue("captured_at", nowIso());
      syncMarker();
      saveDraft();
      if (pickMap) { pickMap.setView([position.coords.latitude, position.coords.longitude], 13); }
    }, function () { announce(M.error_position); }, { enableHighAccuracy: true, timeout: 15000 });
  });

  restoreDraft();
  renderOutbox().then(function (records) { if (records.some(function (r) { return !r.rejected; })) { flush(); } });
})();
