/* kalkan register: the map of reports (Leaflet on a canvas; no tiles needed).
 *
 * Reports come as compact rows; each is a circle coloured by type with an outline by status.
 * When everything is drawn the page sets window.kalkanMap = {count, fetchMs, drawMs} (the browser
 * test reads it to measure responsiveness with 10,000 reports).
 */
(function () {
  "use strict";
  const el = document.getElementById("incident-map");
  if (!el || !window.L) { return; }
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const statusEl = document.getElementById("map-status");
  const renderer = L.canvas({ padding: 0.2 });
  const map = L.map(el, { preferCanvas: true, renderer: renderer }).setView([40.75, 72.95], 8);
  window.kalkanLeafletMap = map;
  if (el.dataset.tiles) { L.tileLayer(el.dataset.tiles, { maxZoom: 18 }).addTo(map); }

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  }
  const STATUS_STYLE = {
    reported: { dashArray: "2 3", weight: 2, fillOpacity: 0.8 },
    corroborated: { dashArray: "6 3", weight: 2, fillOpacity: 0.8 },
    verified: { dashArray: null, weight: 3, fillOpacity: 0.9 },
    rejected: { dashArray: null, weight: 1, fillOpacity: 0.25, opacity: 0.35 },
  };

  fetch(el.dataset.districts, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
    .then(function (geojson) {
      if (!geojson) { return; }
      const layer = L.geoJSON(geojson, {
        style: { color: "#444", weight: 1, fillColor: "#fff", fillOpacity: 0.3 },
        onEachFeature: function (feature, lyr) {
          if (feature.properties && feature.properties.name) { lyr.bindTooltip(feature.properties.name, { sticky: true }); }
        },
      }).addTo(map);
      layer.bringToBack();
    }).catch(function () { /* outlines are context only */ });

  if (el.dataset.forecast) {
    fetch(el.dataset.forecast, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (geojson) {
        if (!geojson) { return; }
        L.geoJSON(geojson, {
          style: function (f) {
            const p = Number((f.properties || {}).probability || 0);
            return { color: "#7a0019", weight: 0.5, fillColor: "#b2182b", fillOpacity: Math.min(0.7, 0.1 + p) };
          },
          pointToLayer: function (f, latlng) { return L.circle(latlng, { radius: 2500 }); },
          interactive: false,
        }).addTo(map);
      }).catch(function () { /* forecast is optional */ });
  }

  const started = performance.now();
  fetch(el.dataset.source, { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) { throw new Error(String(r.status)); }
    return r.json();
  }).then(function (data) {
    const fetched = performance.now();
    const idx = {};
    data.fields.forEach(function (name, i) { idx[name] = i; });
    const counts = {};
    const group = L.featureGroup();
    data.rows.forEach(function (row) {
      const type = row[idx.type];
      const status = row[idx.status];
      counts[type] = (counts[type] || 0) + 1;
      const style = Object.assign({ radius: 6, color: "#111", fillColor: config.colours[type] || "#888", renderer: renderer },
                                  STATUS_STYLE[status] || {});
      const marker = L.circleMarker([row[idx.lat], row[idx.lon]], style);
      marker.kalkanRow = row;
      group.addLayer(marker);
    });
    group.on("click", function (e) {
      const row = e.layer.kalkanRow;
      const box = document.createElement("div");
      const a = document.createElement("a");
      a.href = "/incidents/" + row[idx.id];
      a.textContent = fmt(config.labels.open, { id: row[idx.id] });
      const p = document.createElement("p");
      p.textContent = (config.labels.types[row[idx.type]] || row[idx.type]) + " · " +
        (config.labels.statuses[row[idx.status]] || row[idx.status]) + " · " + row[idx.date] +
        (row[idx.lead] ? " · " + fmt(config.labels.same_as, { id: row[idx.lead] }) : "");
      box.append(a, p);
      L.popup().setLatLng(e.latlng).setContent(box).openOn(map);
    });
    group.addTo(map);
    if (data.rows.length) { map.fitBounds(group.getBounds(), { padding: [20, 20], maxZoom: 13 }); }
    document.querySelectorAll("[data-count]").forEach(function (span) {
      const n = counts[span.dataset.count] || 0;
      span.textContent = "(" + n.toLocaleString(document.documentElement.lang) + ")";
    });
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        const drawn = performance.now();
        statusEl.textContent = fmt(config.labels.shown, { n: data.rows.length.toLocaleString(document.documentElement.lang) });
        window.kalkanMap = { count: data.rows.length, fetchMs: fetched - started, drawMs: drawn - fetched };
        el.dataset.ready = "1";
      });
    });
  }).catch(function (error) {
    statusEl.textContent = String(error);
  });
})();
