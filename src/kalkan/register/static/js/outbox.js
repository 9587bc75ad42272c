/* kalkan register: the device's outbox of reports not yet acknowledged by the register.
 *
 * Reports wait in IndexedDB (which keeps files too) under their client_id until the server answers
 * 200/201; a lost answer is harmless because the register treats a repeated client_id as the same
 * report. Shared by the report form (report.js), the mission's forms (mission.js, store "mission")
 * and the sign-out guard (pages.js); both forms send through the one sender() below.
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

  function csrf() { return document.querySelector('meta[name="csrf-token"]').content; }

  function byQueuedAt(a, b) { return a.queued_at < b.queued_at ? -1 : 1; }

  // One POST of a record with the page's CSRF token; gives up after 30 s (a stalled connection
  // counts as no connection). The answer's JSON, or {} when it has none.
  async function post(url, body) {
    body.append("csrf", csrf());
    const controller = new AbortController();
    const timeout = window.setTimeout(function () { controller.abort(); }, 30000);
    try {
      const response = await fetch(url, {
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

  /* The sending half of a form's outbox: sends the waiting records oldest first and removes each one
   * only on 200/201. A network failure, a sign-in answer or a server error stops the round and retries
   * later with back-off (2 s doubling to 60 s); a 4xx other than 408/429 marks the record rejected
   * (kept, not re-sent). Sends again when the device comes back online.
   *
   * options.store     the outbox store (kalkanOutbox or kalkanOutbox.mission)
   * options.url       record -> the address it is posted to
   * options.body      record -> its FormData or URLSearchParams (the CSRF token is added here)
   * options.problem   (kind, outcome) -> the text kept as record.last_error, kind one of
   *                   "network", "signin", "rejected", "server"
   * options.sent      (outcome) -> called when the register acknowledged a record
   * options.done      async (failed) -> called after each round (to redraw the outbox)
   * Returns {flush, sendNow}.
   */
  function sender(options) {
    const store = options.store;
    let sending = false;
    let retryTimer = null;
    let retryDelay = 2000;

    function scheduleRetry() {
      if (retryTimer) { return; }
      retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    }

    async function keep(record, kind, outcome) {
      if (kind === "network" || kind === "server") {
        if (typeof record.tries === "number") { record.tries += 1; }
      }
      record.last_error = options.problem(kind, outcome);
      await store.put(record);
    }

    async function flush() {
      if (sending) { return; }
      sending = true;
      let failed = false;
      try {
        const records = (await store.all()).filter(function (r) { return !r.rejected; });
        records.sort(byQueuedAt);
        for (const record of records) {
          let outcome;
          try {
            outcome = await post(options.url(record), options.body(record));
          } catch (e) {
            await keep(record, "network", null);
            failed = true;
            break;
          }
          if (outcome.status === 200 || outcome.status === 201) {
            await store.remove(record.client_id);
            options.sent(outcome);
            document.dispatchEvent(new CustomEvent("kalkan:acknowledged",
              { detail: { client_id: record.client_id, id: outcome.payload.id, status: outcome.status } }));
          } else if (outcome.status === 401 || outcome.status === 403) {
            await keep(record, "signin", outcome);
            failed = true;
            break;
          } else if (outcome.status >= 400 && outcome.status < 500 && outcome.status !== 408 && outcome.status !== 429) {
            record.rejected = true;
            await keep(record, "rejected", outcome);
          } else {
            await keep(record, "server", outcome);
            failed = true;
            break;
          }
        }
      } finally {
        sending = false;
      }
      await options.done(failed);
      if (failed) { scheduleRetry(); } else { retryDelay = 2000; }
    }

    function sendNow() {
      if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
      retryDelay = 2000;
      flush();
    }

    window.addEventListener("online", function () { retryDelay = 2000; flush(); });
    return { flush: flush, sendNow: sendNow };
  }

  window.kalkanOutbox = Object.assign(named(STORE), {
    uuid4: uuid4,
    sender: sender,
    byQueuedAt: byQueuedAt,
    mission: named("mission"),
    // Everything still waiting on this device, reports and mission records (the sign-out guard).
    waiting: async function () {
      const lists = await Promise.all(STORES.map(function (name) { return named(name).all(); }));
      return [].concat.apply([], lists);
    },
  });
})();
