/* kalkan register: the service worker that lets the report form open with no connection.
 *
 * Static assets, district outlines and place names: cache first (their URLs change with each
 * release). The report form: network first, the last copy when the register cannot be reached.
 * Nothing else is cached (lists and reports carry personal data), and no POST is touched: a report
 * sent without a connection waits in the page's outbox. Signing out deletes the cache.
 * Browsers run service workers only on https:// or localhost, so on a plain-http LAN address the
 * pages work as before without this.
 */
"use strict";
const CACHE = "kalkan-pages-v1";
const SHARED = ["/map/districts.geojson", "/map/places.json"];

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

function formNetworkFirst(request) {
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      const copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put("/report", copy); });
    }
    return response;
  }).catch(function () {
    return caches.match("/report").then(function (hit) { return hit || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.startsWith("/static/") || SHARED.indexOf(url.pathname) >= 0) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname === "/report" && request.mode === "navigate") {
    event.respondWith(formNetworkFirst(request));
  }
});
