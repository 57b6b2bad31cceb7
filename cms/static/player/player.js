/*
 * Panoled web player: plays one board's manifest full screen in a kiosk browser.
 *
 * - The board secret is asked for once and kept in this browser's IndexedDB; the board
 *   key for signatures is derived from it exactly as display_adapters.signing.board_key.
 * - The manifest is long-polled from the board API (If-None-Match + ?wait=25), its
 *   signature checked, its media downloaded into the Cache API, and only then is it
 *   played and kept in IndexedDB. After a restart without the CMS the player starts
 *   from the kept manifest and cached media (the service worker serves the page itself).
 * - The timeline is read against this PC's clock: where a segment has a playlist, its
 *   items loop from `first_item` from the segment's start, as the CMS computes it;
 *   everywhere else the board is black.
 * - Two stacked slots: the next item is loaded and decoded in the hidden one and the two
 *   swap in one step, so no black frame shows between items.
 * - Each complete play (shown from its start to its end) gets a uuid and waits in
 *   IndexedDB until the CMS answers it as new or duplicate; a heartbeat every 30 s says
 *   which version and item play, with a screenshot when the CMS asks for one.
 */
(function () {
  "use strict";

  const KEY_LABEL = "panoled-board-key-v1";
  const POLL_WAIT_SECONDS = 25;
  const HEARTBEAT_MS = 30000;
  const SCREENSHOT_MAX_WIDTH = 1280;
  const UPLOAD_MS = 5000;
  const BATCH = 200;
  const SLACK_MS = 500; // how late a play may start, or early end, and still count as complete
  const MEDIA_CACHE = "panoled-player-media";
  const SHELL_CACHE = "panoled-player-shell";
  const encoder = new TextEncoder();

  // ---------------------------------------------------------------------------
  // Signatures (display_adapters/signing.py)

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function bytesOfHex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  async function hmacHex(keyBytes, message) {
    const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return hex(await crypto.subtle.sign("HMAC", key, message));
  }

  function boardKey(secret) {
    return hmacHex(encoder.encode(secret), encoder.encode(KEY_LABEL));
  }

  async function sign(keyHex, timestamp, body) {
    const prefix = encoder.encode(`${Math.trunc(timestamp)}.`);
    const message = new Uint8Array(prefix.length + body.length);
    message.set(prefix);
    message.set(body, prefix.length);
    return `sha256=${await hmacHex(bytesOfHex(keyHex), message)}`;
  }

  // ---------------------------------------------------------------------------
  // The timeline

  function ms(iso) {
    return Date.parse(iso);
  }

  /** The manifest as the player reads it: times in ms, each segment with its items. */
  function readManifest(body) {
    const playlists = new Map((body.playlists || []).map((p) => [p.playlist_id, p.items || []]));
    const segments = (body.segments || []).map((s) => ({
      start: ms(s.start),
      end: ms(s.end),
      kind: s.kind,
      firstItem: s.first_item || 0,
      items: (s.playlist_id != null && playlists.get(s.playlist_id)) || [],
    })).sort((a, b) => a.start - b.start);
    return {
      version: body.version,
      width: body.screen.width,
      height: body.screen.height,
      media: new Map((body.media || []).map((m) => [m.asset_id, m])),
      segments,
      body,
    };
  }

  /** What plays at `now` (ms): an item with its scheduled start and end, or black until a time. */
  function itemAt(plan, now) {
    if (!plan) return { dark: true, key: "dark", until: now + 1000 };
    for (const segment of plan.segments) {
      if (now < segment.start || now >= segment.end) continue;
      const items = segment.items;
      const lengths = items.map((item) => Math.round(Number(item.duration) * 1000));
      const cycle = lengths.reduce((a, b) => a + b, 0);
      if (!items.length || !(cycle > 0)) return { dark: true, key: "dark", until: segment.end };
      const elapsed = now - segment.start;
      let start = segment.start + Math.floor(elapsed / cycle) * cycle;
      let index = segment.firstItem % items.length;
      while (now >= start + lengths[index]) {
        start += lengths[index];
        index = (index + 1) % items.length;
      }
      const end = Math.min(start + lengths[index], segment.end);
      const item = items[index];
      return {
        dark: false, item, index, start, end, complete: start + lengths[index] <= segment.end,
        key: `${start}|${end}|${item.asset_id}`,
      };
    }
    const next = plan.segments.find((s) => s.start > now);
    return { dark: true, key: "dark", until: next ? next.start : now + 60000 };
  }

  // ---------------------------------------------------------------------------
  // IndexedDB: settings (secret, manifest), plays waiting to be uploaded, plays refused

  function openDatabase(name) {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("settings");
        db.createObjectStore("plays", { keyPath: "event_id" }).createIndex("by_start", "start");
        db.createObjectStore("rejected", { keyPath: "event_id" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  function transact(db, store, mode, work) {
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      let result;
      const request = work(tx.objectStore(store));
      if (request) request.onsuccess = () => { result = request.result; };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  // ---------------------------------------------------------------------------

  function sleep(milliseconds) {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));
  }

  function backoff(failures, most) {
    return Math.min(most, 1000 * 2 ** Math.min(failures, 6)) * (0.75 + Math.random() * 0.5);
  }

  /**
   * Wakes a loop early. The loop calls `arm()` before its work and then waits on
   * `promise`; a `signal()` at any time after `arm()` (also while the work is still
   * awaiting the network) leaves `promise` resolved, so no signal is lost. One given
   * before `arm()` is served by the work that follows it anyway.
   */
  function wakeable() {
    let release;
    const state = {
      promise: null,
      arm() { state.promise = new Promise((resolve) => { release = resolve; }); },
      signal() { release(); },
    };
    state.arm();
    return state;
  }

  class Player {
    constructor(stage) {
      this.stage = stage;
      this.screenId = Number(stage.dataset.screenId);
      this.api = stage.dataset.api;
      this.slots = Array.from(stage.querySelectorAll(".slot"));
      this.front = 0;
      this.slotKeys = ["", ""];
      this.plan = null;
      this.urls = new Map(); // asset id -> {url, type}
      this.current = null;
      this.recorded = []; // event ids recorded by this page, for diagnostics
      this.pending = 0;
      this.screenshotWanted = false;
      this.clockOffset = 0; // the CMS's clock minus this PC's, in ms
      this.authProblem = "";
      this.online = null;
      this.planWake = wakeable();
      this.heartbeatWake = wakeable();
    }

    // -- set-up -------------------------------------------------------------

    async open() {
      this.db = await openDatabase(`panoled-player-${this.screenId}`);
      this.secret = await transact(this.db, "settings", "readonly", (s) => s.get("secret"));
      if (this.secret) this.key = await boardKey(this.secret);
      return Boolean(this.secret);
    }

    authorization() {
      return { Authorization: `Bearer ${this.secret}` };
    }

    /** Try a secret against the CMS: "ok" (and the first manifest, if any), or why not. */
    async trySecret(secret) {
      let response;
      try {
        response = await fetch(`${this.api}/manifest`, { headers: { Authorization: `Bearer ${secret}` }, cache: "no-store" });
      } catch (error) {
        return { outcome: "unreachable" };
      }
      if (response.status === 401) return { outcome: "wrong-secret" };
      if (response.status === 403) return { outcome: "inactive" };
      if (response.status === 404) return { outcome: "ok", manifest: null };
      if (!response.ok) return { outcome: "unreachable" };
      return { outcome: "ok", response };
    }

    async saveSecret(secret) {
      await transact(this.db, "settings", "readwrite", (s) => s.put(secret, "secret"));
      this.secret = secret;
      this.key = await boardKey(secret);
    }

    async start(firstResponse) {
      this.registerWorker();
      const kept = await transact(this.db, "settings", "readonly", (s) => s.get("manifest"));
      if (kept) {
        try {
          await this.adopt(kept, { offline: true });
        } catch (error) {
          console.warn("panoled: the kept manifest could not be played", error);
        }
      }
      if (firstResponse) {
        try {
          await this.receive(firstResponse);
        } catch (error) {
          console.warn("panoled: first manifest", error);
        }
      }
      this.countPending();
      this.playLoop();
      this.manifestLoop();
      this.uploadLoop();
      this.heartbeatLoop();
    }

    async registerWorker() {
      if (!("serviceWorker" in navigator)) return;
      try {
        await navigator.serviceWorker.register(this.stage.dataset.worker, { scope: this.stage.dataset.scope });
        // The page that registers is not yet controlled: put the shell in the cache now,
        // so a restart without the CMS finds it.
        const shell = [location.pathname, ...this.stage.dataset.shell.split(" ")];
        const cache = await caches.open(SHELL_CACHE);
        await cache.addAll(shell);
      } catch (error) {
        console.warn("panoled: service worker", error);
      }
    }

    // -- the manifest ---------------------------------------------------------

    async manifestLoop() {
      let failures = 0;
      for (;;) {
        const began = Date.now();
        try {
          const headers = this.authorization();
          if (this.plan) headers["If-None-Match"] = `"v${this.plan.version}"`;
          const response = await fetch(`${this.api}/manifest?wait=${POLL_WAIT_SECONDS}`, { headers, cache: "no-store" });
          this.learnClock(response);
          this.online = true;
          if (response.status === 401 || response.status === 403) {
            this.authProblem = response.status === 401 ? "wrong-secret" : "inactive";
            console.warn(`panoled: the CMS refuses this board (${response.status}); playing what is kept`);
            await sleep(60000);
            continue;
          }
          this.authProblem = "";
          if (response.status === 200) await this.receive(response);
          else if (response.status !== 304 && response.status !== 404) throw new Error(`manifest: HTTP ${response.status}`);
          failures = 0;
        } catch (error) {
          failures += 1;
          this.online = false;
          await sleep(backoff(failures, 15000));
        }
        await sleep(1000 - (Date.now() - began)); // never more than one poll a second
      }
    }

    /** A manifest answer: checked against the board key, its media cached, then played. */
    async receive(response) {
      const raw = new Uint8Array(await response.arrayBuffer());
      const stamp = response.headers.get("X-Panoled-Timestamp");
      const signature = response.headers.get("X-Panoled-Signature");
      // The timestamp's age is not checked: a correct signature proves the CMS made it,
      // and a version is never replaced by an older one.
      if (!stamp || !signature || signature !== await sign(this.key, Number(stamp), raw)) {
        throw new Error("manifest: the signature does not match");
      }
      const body = JSON.parse(new TextDecoder().decode(raw));
      if (this.plan && body.version <= this.plan.version) return;
      await this.adopt(body, { offline: false });
    }

    mediaKey(media) {
      return new Request(`${media.path}?revision=${encodeURIComponent(media.sha256 || media.revision || "")}`);
    }

    async cacheMedia(cache, media) {
      const key = this.mediaKey(media);
      if (await cache.match(key)) return;
      const response = await fetch(media.path, { headers: this.authorization(), cache: "no-store" });
      if (response.status === 404) return; // not ready for this board yet: its items show black
      if (!response.ok) throw new Error(`media ${media.asset_id}: HTTP ${response.status}`);
      const data = await response.arrayBuffer();
      if (media.sha256 && hex(await crypto.subtle.digest("SHA-256", data)) !== media.sha256) {
        throw new Error(`media ${media.asset_id}: checksum does not match`);
      }
      const type = response.headers.get("Content-Type") || "application/octet-stream";
      await cache.put(key, new Response(data, { headers: { "Content-Type": type } }));
    }

    /** Make `body` the manifest that plays: media cached (when online), kept in IndexedDB. */
    async adopt(body, { offline }) {
      const plan = readManifest(body);
      const cache = await caches.open(MEDIA_CACHE);
      const ready = [...plan.media.values()].filter((m) => m.ready);
      if (!offline) {
        for (const media of ready) await this.cacheMedia(cache, media);
      }
      const urls = new Map();
      for (const media of ready) {
        const old = this.urls.get(media.asset_id);
        if (old && old.key === this.mediaKey(media).url) {
          urls.set(media.asset_id, old);
          continue;
        }
        const hit = await cache.match(this.mediaKey(media));
        if (!hit) continue;
        const blob = await hit.blob();
        urls.set(media.asset_id, { url: URL.createObjectURL(blob), type: blob.type, key: this.mediaKey(media).url });
      }
      if (!offline) await transact(this.db, "settings", "readwrite", (s) => s.put(body, "manifest"));
      const retired = [...this.urls.values()].filter((entry) => ![...urls.values()].includes(entry));
      this.plan = plan;
      this.urls = urls;
      this.stage.style.width = `${plan.width}px`;
      this.stage.style.height = `${plan.height}px`;
      this.stage.dataset.version = String(plan.version);
      // The item on screen may still use a retired file: let it go a while later.
      setTimeout(() => retired.forEach((entry) => URL.revokeObjectURL(entry.url)), 120000);
      if (!offline) this.forgetMedia(cache, ready);
      this.planWake.signal();
      this.heartbeatWake.signal(); // tell the CMS soon which version plays
    }

    async forgetMedia(cache, keep) {
      const wanted = new Set(keep.map((m) => this.mediaKey(m).url));
      for (const request of await cache.keys()) {
        if (!wanted.has(request.url)) await cache.delete(request);
      }
    }

    // -- playing ------------------------------------------------------------

    async playLoop() {
      for (;;) {
        this.planWake.arm();
        let wait = 1000;
        try {
          const now = Date.now();
          const entry = itemAt(this.plan, now);
          if (!this.current || entry.key !== this.current.entry.key) await this.show(entry);
          const boundary = entry.dark ? entry.until : entry.end;
          const next = itemAt(this.plan, boundary);
          if (next.key !== this.slotKeys[1 - this.front]) await this.prepare(next, 1 - this.front);
          wait = Math.min(boundary - Date.now(), 1000);
        } catch (error) {
          console.warn("panoled: playing", error);
        }
        await Promise.race([sleep(wait), this.planWake.promise]);
      }
    }

    /** Load `entry` into a slot and wait until it can be shown at once. */
    async prepare(entry, slotIndex) {
      const slot = this.slots[slotIndex];
      for (const video of slot.querySelectorAll("video")) video.pause();
      slot.replaceChildren();
      this.slotKeys[slotIndex] = entry.key;
      const file = entry.dark ? null : this.urls.get(entry.item.asset_id);
      if (!file) return;
      let element;
      if (file.type.startsWith("video/")) {
        element = document.createElement("video");
        element.muted = true;
        element.playsInline = true;
        element.preload = "auto";
        element.src = file.url;
        await new Promise((resolve) => {
          element.addEventListener("canplay", resolve, { once: true });
          element.addEventListener("error", resolve, { once: true });
          setTimeout(resolve, 5000);
        });
      } else {
        element = document.createElement("img");
        element.alt = "";
        element.src = file.url;
        try {
          await element.decode();
        } catch (error) {
          console.warn("panoled: picture", entry.item.asset_id, error);
        }
      }
      element.dataset.assetId = String(entry.item.asset_id);
      if (this.slotKeys[slotIndex] === entry.key) slot.append(element);
    }

    async show(entry) {
      const back = 1 - this.front;
      if (this.slotKeys[back] !== entry.key) await this.prepare(entry, back);
      const now = Date.now();
      this.finish(now);
      const incoming = this.slots[back];
      const video = incoming.querySelector("video");
      if (video) {
        video.currentTime = Math.max(0, (now - entry.start) / 1000);
        video.play().catch(() => {});
      }
      // Show the new slot, then hide the old one, in one step: no frame in between.
      incoming.classList.add("front");
      this.slots[this.front].classList.remove("front");
      for (const old of this.slots[this.front].querySelectorAll("video")) old.pause();
      this.front = back;
      const playable = !entry.dark && incoming.firstElementChild !== null;
      this.current = { entry, shownAt: now, version: this.plan ? this.plan.version : null, playable };
      this.stage.dataset.assetId = playable ? String(entry.item.asset_id) : "";
      this.stage.dataset.itemStart = String(now);
    }

    /** The item on screen ends: kept as a play when it was shown from its start to its end. */
    finish(now) {
      const current = this.current;
      if (!current || !current.playable) return;
      const { entry } = current;
      if (!entry.complete || current.shownAt > entry.start + SLACK_MS || now < entry.end - SLACK_MS) return;
      const play = {
        event_id: crypto.randomUUID(),
        asset_id: entry.item.asset_id,
        manifest_version: current.version,
        start: new Date(current.shownAt).toISOString(),
        end: new Date(now).toISOString(),
        frame_hash: null,
      };
      this.recorded.push(play.event_id);
      this.pending += 1;
      transact(this.db, "plays", "readwrite", (s) => s.put(play)).catch((error) => {
        console.error("panoled: a play could not be kept", error);
      });
    }

    // -- plays and heartbeats -------------------------------------------------

    async post(path, body) {
      const raw = encoder.encode(JSON.stringify(body));
      // Signed with the CMS's time as last seen in its answers, so a PC clock that drifted
      // does not lock the board out of its own uploads (the CMS allows 300 s either way).
      const stamp = Math.floor((Date.now() + this.clockOffset) / 1000);
      const response = await fetch(`${this.api}/${path}`, {
        method: "POST",
        cache: "no-store",
        headers: {
          ...this.authorization(),
          "Content-Type": "application/json",
          "X-Panoled-Timestamp": String(stamp),
          "X-Panoled-Signature": await sign(this.key, stamp, raw),
        },
        body: raw,
      });
      this.learnClock(response);
      return response;
    }

    /** The CMS's clock from an answer's Date header (to the second). */
    learnClock(response) {
      const said = Date.parse(response.headers.get("Date") || "");
      if (!Number.isNaN(said)) this.clockOffset = said - Date.now();
    }

    async countPending() {
      this.pending = await transact(this.db, "plays", "readonly", (s) => s.count());
    }

    async uploadLoop() {
      let failures = 0;
      let single = 0; // after a refused batch, send plays one at a time to find the bad one
      for (;;) {
        await sleep(failures ? backoff(failures, 20000) : UPLOAD_MS);
        try {
          const plays = await transact(this.db, "plays", "readonly", (s) => s.index("by_start").getAll(null, single ? 1 : BATCH));
          if (!plays.length) {
            failures = 0;
            continue;
          }
          const response = await this.post("playlogs", { plays });
          this.online = true;
          if (response.status === 200) {
            const answer = await response.json();
            const done = [...answer.new, ...answer.duplicates];
            await transact(this.db, "plays", "readwrite", (s) => { done.forEach((id) => s.delete(id)); });
            failures = 0;
            single = Math.max(0, single - 1);
          } else if (response.status === 422 && plays.length === 1) {
            // The CMS will never take this one: set it aside, keep the rest moving.
            console.error("panoled: the CMS refused a play", plays[0], await response.text());
            await transact(this.db, "rejected", "readwrite", (s) => s.put(plays[0]));
            await transact(this.db, "plays", "readwrite", (s) => s.delete(plays[0].event_id));
            single = Math.max(0, single - 1);
          } else if (response.status === 422) {
            single = plays.length;
          } else {
            failures += 1;
          }
        } catch (error) {
          failures += 1;
          this.online = false;
        }
        await this.countPending();
      }
    }

    capture() {
      const size = this.plan || { width: this.stage.clientWidth, height: this.stage.clientHeight };
      // At most 1280 px wide: enough to see what is on screen, and far below the CMS's 8 MB limit.
      const scale = Math.min(1, SCREENSHOT_MAX_WIDTH / size.width);
      const width = Math.max(1, Math.round(size.width * scale));
      const height = Math.max(1, Math.round(size.height * scale));
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d");
      context.fillStyle = "#000";
      context.fillRect(0, 0, width, height);
      const shown = this.slots[this.front].firstElementChild;
      if (shown) context.drawImage(shown, 0, 0, width, height);
      return canvas.toDataURL("image/png").split(",", 2)[1];
    }

    async heartbeatLoop() {
      for (;;) {
        this.heartbeatWake.arm();
        let wait = HEARTBEAT_MS;
        try {
          const current = this.current && this.current.playable ? this.current.entry.item.asset_id : null;
          const beat = { version: this.plan ? this.plan.version : null, asset_id: current, at: new Date().toISOString() };
          if (this.screenshotWanted) beat.screenshot = this.capture();
          const response = await this.post("heartbeat", beat);
          this.online = true;
          if (response.ok) {
            const answer = await response.json();
            this.screenshotWanted = Boolean(answer.screenshot_wanted) && !beat.screenshot;
            if (this.screenshotWanted) wait = 1000;
          } else if (beat.screenshot) {
            // Refused with its screenshot: drop the screenshot so the heartbeats get through.
            console.warn(`panoled: the heartbeat with a screenshot was refused (${response.status})`);
            this.screenshotWanted = false;
            wait = 1000;
          }
        } catch (error) {
          this.online = false;
          console.warn("panoled: heartbeat", error);
        }
        await Promise.race([sleep(wait), this.heartbeatWake.promise]);
      }
    }

    /** What the page does now, for people and tests looking in. */
    status() {
      return {
        version: this.plan ? this.plan.version : null,
        assetId: this.current && this.current.playable ? this.current.entry.item.asset_id : null,
        recorded: this.recorded.slice(),
        pending: this.pending,
        online: this.online,
        authProblem: this.authProblem,
      };
    }
  }

  // ---------------------------------------------------------------------------
  // The page

  function message(name) {
    return document.getElementById("player-messages").dataset[name] || name;
  }

  function notice(text) {
    const element = document.getElementById("notice");
    element.textContent = text;
    element.hidden = !text;
  }

  function askForSecret(player) {
    const form = document.getElementById("setup");
    const input = document.getElementById("secret");
    const output = document.getElementById("setup-message");
    const names = { "wrong-secret": "wrongSecret", inactive: "inactive", unreachable: "unreachable" };
    form.hidden = false;
    input.focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const secret = input.value.trim();
      if (!secret) return;
      output.textContent = message("checking");
      const answer = await player.trySecret(secret);
      if (answer.outcome !== "ok") {
        output.textContent = message(names[answer.outcome]);
        form.dataset.outcome = answer.outcome;
        return;
      }
      await player.saveSecret(secret);
      input.value = "";
      output.textContent = "";
      form.hidden = true;
      if (location.hash === "#setup") history.replaceState(null, "", location.pathname);
      await player.start(answer.response);
    });
  }

  async function main() {
    const stage = document.getElementById("stage");
    if (!window.isSecureContext || !crypto.subtle) {
      notice(message("insecure"));
      return;
    }
    if (!("indexedDB" in window) || !("caches" in window) || !crypto.randomUUID) {
      notice(message("unsupported"));
      return;
    }
    const player = new Player(stage);
    window.panoledPlayer = player;
    // Open the page with #setup to enter a new secret (after it was rotated).
    if (await player.open() && location.hash !== "#setup") await player.start(null);
    else askForSecret(player);
  }

  window.PanoledPlayer = { boardKey, sign, itemAt, readManifest };
  if (document.getElementById("stage")) main();
})();
