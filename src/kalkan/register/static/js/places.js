/* kalkan register: towns and villages of the scenario on a map, for finding one's way without tiles.
 *
 * kalkanPlaces(map, url, onPick): towns and neighbourhoods carry their names; villages appear from
 * zoom 11 (names on hover). They share the map's one canvas renderer (a second canvas on top would
 * swallow the clicks). onPick(place) is called when a place is clicked (the report form uses it
 * to fill the position and the place name).
 */
(function () {
  "use strict";
  window.kalkanPlaces = function (map, url, onPick) {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        const named = L.layerGroup();
        const villages = L.layerGroup();
        data.rows.forEach(function (row) {
          const place = { name: row[0], kind: row[1], lat: row[2], lon: row[3], district: row[4] };
          const big = place.kind !== "village";
          const marker = L.circleMarker([place.lat, place.lon], {
            radius: big ? 3.5 : 2, color: big ? "#222" : "#888", weight: 1,
            fillColor: big ? "#222" : "#bbb", fillOpacity: 0.9,
          });
          marker.bindTooltip(place.name, big ? { permanent: true, direction: "right", className: "place-label" }
                                              : { direction: "top" });
          if (onPick) {
            marker.on("click", function (e) { L.DomEvent.stopPropagation(e); onPick(place); });
          }
          (big ? named : villages).addLayer(marker);
        });
        named.addTo(map);
        function toggle() {
          if (map.getZoom() >= 11) { villages.addTo(map); } else { villages.remove(); }
        }
        map.on("zoomend", toggle);
        toggle();
      }).catch(function () { /* places are a help, not a need */ });
  };
})();
