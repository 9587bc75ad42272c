/* kalkan register: the map of reports (Leaflet on a canvas; no tiles needed).
 *
 * Reports come as compact rows; each is a circle coloured by type with an outline by status, all
 * drawn on one canvas (PointsLayer); a click lists the reports within 9 pixels, nearest first.
 * When everything is drawn the page sets window.kalkanMap = {count, fetchMs, drawMs} (the browser
 * test reads it to measure responsiveness with 10,000 reports).
 */
(function () {
  "use strict";
  const el = document.getElementById("incident-map");
  if (!el || !window.L) { return; }
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const statusEl = document.getElementById("map-status");
  const map = L.map(el, { preferCanvas: true }).setView([40.75, 72.95], 8);
  window.kalkanLeafletMap = map;
  if (el.dataset.tiles) { L.tileLayer(el.dataset.tiles, { maxZoom: 18 }).addTo(map); }

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  }
  // Status by outline width and opacity. No dashed outlines: dashes cost ~50x more to rasterise,
  // which with 10,000 reports turns a zoom from milliseconds into most of a second.
  const STATUS_STYLE = {
    reported: { weight: 1, fillOpacity: 0.75, opacity: 1 },
    corroborated: { weight: 2, fillOpacity: 0.85, opacity: 1 },
    verified: { weight: 3.5, fillOpacity: 1, opacity: 1 },
    rejected: { weight: 1, fillOpacity: 0.3, opacity: 0.3 },
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

  if (window.kalkanPlaces && el.dataset.places) { window.kalkanPlaces(map, el.dataset.places, null); }

  if (el.dataset.forecast) {
    fetch(el.dataset.forecast, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (geojson) {
        if (!geojson) { return; }
        const layer = L.geoJSON(geojson, {
          style: function (f) {
            const p = Number((f.properties || {}).probability || 0);
            return { color: "#7a0019", weight: 0.5, fillColor: "#b2182b", fillOpacity: Math.min(0.7, 0.05 + 0.65 * p) };
          },
          pointToLayer: function (f, latlng) { return L.circle(latlng, { radius: 2500 }); },
          interactive: false,
        }).addTo(map);
        layer.bringToBack();
        el.dataset.forecastCells = String(geojson.features ? geojson.features.length : 0);
      }).catch(function () { /* forecast is optional */ });
  }

  const RADIUS = 7;

  // All reports on one canvas, drawn as one path per type and status, instead of one Leaflet
  // layer per report (each of which projects, clips and draws itself on every redraw).
  const ORDER = ["rejected", "reported", "corroborated", "verified"];
  const PointsLayer = L.Layer.extend({
    initialize: function (rows, idx) {
      this._rows = rows;
      this._idx = idx;
      // Rows grouped once by type and status, groups in stamping order (verified last, on top).
      const byKey = {};
      rows.forEach(function (row, i) {
        const key = row[idx.status] + "|" + row[idx.type];
        (byKey[key] = byKey[key] || []).push(i);
      });
      this._groups = Object.keys(byKey).sort(function (a, b) {
        return ORDER.indexOf(a.split("|")[0]) - ORDER.indexOf(b.split("|")[0]);
      }).map(function (key) { return { key: key, rows: Int32Array.from(byKey[key]) }; });
      this._xs = new Float32Array(rows.length);
      this._ys = new Float32Array(rows.length);
    },
    onAdd: function (m) {
      this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-hide kalkan-points");
      this._canvas.setAttribute("aria-hidden", "true");
      // Its own pane above the outlines, places and their labels (tooltips: 650), below popups (700).
      const pane = m.getPane("kalkanReports") || m.createPane("kalkanReports");
      pane.style.zIndex = 660;
      pane.style.pointerEvents = "none";
      pane.appendChild(this._canvas);
      m.on("moveend zoomend resize viewreset", this._schedule, this);
      this._redraw();
    },
    onRemove: function (m) {
      L.DomUtil.remove(this._canvas);
      m.off("moveend zoomend resize viewreset", this._schedule, this);
      if (this._frame) { L.Util.cancelAnimFrame(this._frame); this._frame = null; }
    },
    _schedule: function () {
      // One zoom fires viewreset, zoomend and moveend: draw once, in the next frame.
      if (this._frame) { return; }
      const self = this;
      this._frame = L.Util.requestAnimFrame(function () { self._frame = null; self._redraw(); });
    },
    _redraw: function () {
      const m = this._map;
      const size = m.getSize();
      const ratio = window.devicePixelRatio || 1;
      const canvas = this._canvas;
      if (canvas.width !== size.x * ratio || canvas.height !== size.y * ratio) {
        canvas.width = size.x * ratio;
        canvas.height = size.y * ratio;
        canvas.style.width = size.x + "px";
        canvas.style.height = size.y + "px";
      }
      L.DomUtil.setPosition(canvas, m.containerPointToLayerPoint([0, 0]));
      const ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      const idx = this._idx;
      const rows = this._rows;
      const zoom = m.getZoom();
      if (this._zoom !== zoom) {
        // Project to world pixels once per zoom level; a pan only shifts them.
        this._px = new Float64Array(rows.length);
        this._py = new Float64Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const p = m.project([rows[i][idx.lat], rows[i][idx.lon]], zoom);
          this._px[i] = p.x;
          this._py[i] = p.y;
        }
        this._zoom = zoom;
      }
      const origin = m.getPixelBounds().min;
      const xs = this._xs, ys = this._ys, px = this._px, py = this._py;
      for (let i = 0; i < rows.length; i++) {
        xs[i] = px[i] - origin.x;
        ys[i] = py[i] - origin.y;
      }
      // One path per type and status (56 at most), each with every report of the group in view: a
      // handful of fill and stroke calls instead of one per report. A report on the very pixel of
      // one already in its group is skipped, since it would not show (reports often share a place's
      // coordinates). Solid outlines only: dashes cost ~50x more to rasterise.
      const width = Math.ceil(size.x), height = Math.ceil(size.y);
      const stamped = new Int32Array(width * height);
      this._groups.forEach(function (group, g) {
        const parts = group.key.split("|");
        const style = STATUS_STYLE[parts[0]] || STATUS_STYLE.reported;
        const mark = g + 1;
        const members = group.rows;
        ctx.beginPath();
        for (let k = 0; k < members.length; k++) {
          const i = members[k];
          const x = xs[i], y = ys[i];
          if (x < -10 || y < -10 || x > size.x + 10 || y > size.y + 10) { continue; }
          if (x >= 0 && y >= 0 && x < width && y < height) {
            const cell = (y | 0) * width + (x | 0);
            if (stamped[cell] === mark) { continue; }
            stamped[cell] = mark;
          }
          ctx.moveTo(x + RADIUS, y);
          ctx.arc(x, y, RADIUS, 0, 2 * Math.PI);
        }
        ctx.globalAlpha = style.opacity * style.fillOpacity;
        ctx.fillStyle = config.colours[parts[1]] || "#888";
        ctx.fill();
        ctx.globalAlpha = style.opacity;
        ctx.lineWidth = style.weight;
        ctx.strokeStyle = "#111";
        ctx.stroke();
      });
      ctx.globalAlpha = 1;
    },
    within: function (containerPoint, radius) {
      // Every report drawn within `radius` pixels of the point, nearest first (reports often share
      // a place's coordinates, so one click can hit several).
      const hits = [];
      const r2 = radius * radius;
      for (let i = 0; i < this._rows.length; i++) {
        const dx = this._xs[i] - containerPoint.x;
        const dy = this._ys[i] - containerPoint.y;
        const d = dx * dx + dy * dy;
        if (d <= r2) { hits.push([d, this._rows[i]]); }
      }
      hits.sort(function (a, b) { return a[0] - b[0]; });
      return hits.map(function (h) { return h[1]; });
    },
  });

  const started = performance.now();
  fetch(el.dataset.source, { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) { throw new Error(String(r.status)); }
    return r.json();
  }).then(function (data) {
    const fetched = performance.now();
    const idx = {};
    data.fields.forEach(function (name, i) { idx[name] = i; });
    const counts = {};
    let south = 90, north = -90, west = 180, east = -180;
    data.rows.forEach(function (row) {
      counts[row[idx.type]] = (counts[row[idx.type]] || 0) + 1;
      south = Math.min(south, row[idx.lat]); north = Math.max(north, row[idx.lat]);
      west = Math.min(west, row[idx.lon]); east = Math.max(east, row[idx.lon]);
    });
    if (data.rows.length) {
      map.fitBounds([[south, west], [north, east]], { padding: [20, 20], maxZoom: 13, animate: false });
    }
    const points = new PointsLayer(data.rows, idx).addTo(map);
    window.kalkanPoints = points;
    map.on("click", function (e) {
      const rows = points.within(e.containerPoint, 9);
      if (!rows.length) { return; }
      const box = document.createElement("div");
      const list = document.createElement("ul");
      list.className = "popup-list";
      rows.slice(0, 8).forEach(function (row) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = "/incidents/" + row[idx.id];
        a.textContent = fmt(config.labels.open, { id: row[idx.id] });
        li.append(a, document.createTextNode(": " + (config.labels.types[row[idx.type]] || row[idx.type]) + " · " +
          (config.labels.statuses[row[idx.status]] || row[idx.status]) + " · " + row[idx.date] +
          (row[idx.lead] ? " · " + fmt(config.labels.same_as, { id: row[idx.lead] }) : "")));
        list.append(li);
      });
      box.append(list);
      if (rows.length > 8) {
        const more = document.createElement("p");
        more.textContent = fmt(config.labels.more, { n: rows.length - 8 });
        box.append(more);
      }
      L.popup({ maxWidth: 360 }).setLatLng(e.latlng).setContent(box).openOn(map);
    });
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
