/* kalkan register: the device's outbox of reports not yet acknowledged by the register.
 *
 * Reports wait in IndexedDB (which keeps files too) under their client_id until the server answers
 * 200/201; a lost answer is harmless because the register treats a repeated client_id as the same
 * report. Shared by the report form (report.js), the mission's forms (mission.js, store "mission")
 * and the sign-out guard (pages.js).
 */
(function () {
  "use strict";
  const DB_NAME = "kalkan-register";
  const STORE = "outbox";
  const STORES = [STORE, "mission"];  // version 2 added the mission's records

  function openDb() {
    return new Promise(function (resolve, reject) {
      const request = indexedDB.open(DB_NAME, 2);
      request.onupgradeneeded = function () {
        STORES.forEach(function (name) {
          if (!request.result.objectStoreNames.contains(name)) {
            request.result.createObjectStore(name, { keyPath: "client_id" });
          }
        });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  async function run(mode, operation, store) {
    const db = await openDb();
    const name = store || STORE;
    return new Promise(function (resolve, reject) {
      const transaction = db.transaction(name, mode);
      const request = operation(transaction.objectStore(name));
      transaction.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
      transaction.onerror = function () { db.close(); reject(transaction.error); };
      transaction.onabort = function () { db.close(); reject(transaction.error); };
    });
  }

  function uuid4() {
    // crypto.randomUUID needs a secure context; a mission LAN often serves plain http.
    if (window.crypto && typeof crypto.randomUUID === "function" && window.isSecureContext) {
      return crypto.randomUUID();
    }
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function named(store) {
    return {
      put: function (record) { return run("readwrite", function (s) { return s.put(record); }, store); },
      remove: function (clientId) { return run("readwrite", function (s) { return s.delete(clientId); }, store); },
      all: function () { return run("readonly", function (s) { return s.getAll(); }, store); },
      clear: function () { return run("readwrite", function (s) { return s.clear(); }, store); },
    };
  }

  window.kalkanOutbox = Object.assign(named(STORE), {
    uuid4: uuid4,
    mission: named("mission"),
    // Everything still waiting on this device, reports and mission records (the sign-out guard).
    waiting: async function () {
      const lists = await Promise.all(STORES.map(function (name) { return named(name).all(); }));
      return [].concat.apply([], lists);
    },
  });
})();
