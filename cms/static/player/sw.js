/*
 * Panoled web player's service worker (scope /player/): keeps the player page, its script
 * and its style so the board starts playing after a restart while the CMS is unreachable.
 * Network first, the kept copy when the network fails. The board API (manifest, media,
 * plays) is left to the page, which keeps the manifest in IndexedDB and media in the
 * Cache API itself.
 */
"use strict";

const SHELL_CACHE = "panoled-player-shell";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/player/") && !url.pathname.startsWith("/static/player/")) return;
  event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return kept;
    throw error;
  }
}
