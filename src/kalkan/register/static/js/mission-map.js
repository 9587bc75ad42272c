/* kalkan register: joint patrols and sites on the map of reports, and the coverage gaps.
 *
 * Each patrol or co-location shift is a circle of the radius it covered; each site with a point a
 * small square. The incidents no patrol covered (no patrol within a day and inside its circle) get a
 * red ring, and the page says how many of the period's incidents they are (the server counts them:
 * /map/mission.json, with the map's filters).
 */
(function () {
  "use strict";
  const el = document.getElementById("incident-map");
  const map = window.kalkanLeafletMap;
  if (!el || !map || !el.dataset.mission) { return; }
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const L10N = config.mission;
  const statusEl = document.getElementById("coverage-status");
  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  }
  fetch(el.dataset.mission, { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) { throw new Error(String(r.status)); }
    return r.json();
  }).then(function (data) {
    const pane = map.createPane("kalkanMission");
    pane.style.zIndex = 450;  // above the outlines, below the reports' canvas
    const patrols = L.layerGroup().addTo(map);
    data.patrols.forEach(function (p) {
      L.circle([p[1], p[2]], { radius: p[3] * 1000, pane: "kalkanMission", color: "#0072b2", weight: 2,
                               fillColor: "#56b4e9", fillOpacity: 0.15 })
        .bindTooltip(fmt(L10N.patrol, { kind: L10N.kinds[p[4]] || p[4], day: p[5], who: p[6], whom: p[7] }))
        .addTo(patrols);
    });
    data.sites.forEach(function (s) {
      L.marker([s[1], s[2]], { pane: "kalkanMission", keyboard: false,
        icon: L.divIcon({ className: "site-mark", iconSize: [12, 12] }) })
        .bindTooltip(fmt(L10N.site, { name: s[4] })).addTo(patrols);
    });
    const c = data.coverage;
    if (c) {
      statusEl.textContent = fmt(L10N.coverage, { patrols: c.patrols, from: c.date_from, to: c.date_to,
                                                   incidents: c.incidents, uncovered: c.uncovered });
      el.dataset.uncovered = String(c.uncovered);
    } else {
      statusEl.textContent = L10N.none;
    }
    el.dataset.patrols = String(data.patrols.length);
    // The uncovered incidents, ringed in red once the reports are drawn.
    function ring() {
      if (!c || !window.kalkanPoints) { return false; }
      const wanted = new Set(c.uncovered_ids);
      const rows = window.kalkanPoints._rows;
      const idx = window.kalkanPoints._idx;
      rows.forEach(function (row) {
        if (wanted.has(row[idx.id])) {
          L.circleMarker([row[idx.lat], row[idx.lon]], { radius: 11, color: "#b00020", weight: 2, fill: false,
                                                         pane: "kalkanMission", interactive: false }).addTo(patrols);
        }
      });
      return true;
    }
    if (!ring()) {
      const timer = window.setInterval(function () { if (ring()) { window.clearInterval(timer); } }, 200);
      window.setTimeout(function () { window.clearInterval(timer); }, 20000);
    }
  }).catch(function (error) { statusEl.textContent = String(error); });
})();
