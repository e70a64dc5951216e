/*
 * Hounsfield's service worker: the workstation opens without the network once it has been
 * visited (the shell and its scripts), and nothing with patient data is ever stored: which
 * requests are kept, and under which key, is sw-rules.js. Images, reports and every API answer
 * always come from the server.
 */
/* global self, caches, fetch */
importScripts('/sw-rules.js');

var rules = self.hfSwRules;

self.addEventListener('install', function () {
  self.skipWaiting();
});

// A new version's worker deletes the caches of the older ones.
self.addEventListener('activate', function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf('hf-') === 0 && name !== rules.CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            }),
        );
      })
      .then(function () {
        return self.clients.claim();
      }),
  );
});

function keep(request, response) {
  if (!rules.storable(response)) return Promise.resolve();
  var copy = response.clone();
  return caches.open(rules.CACHE).then(function (cache) {
    return cache.put(rules.cacheKey(request.url), copy);
  });
}

function cacheFirst(event) {
  var request = event.request;
  return caches.match(rules.cacheKey(request.url), { cacheName: rules.CACHE }).then(function (hit) {
    if (hit) return hit;
    return fetch(request).then(function (response) {
      event.waitUntil(keep(request, response));
      return response;
    });
  });
}

function networkFirst(event) {
  var request = event.request;
  return fetch(request).then(
    function (response) {
      event.waitUntil(keep(request, response));
      return response;
    },
    function (error) {
      return caches.match(rules.cacheKey(request.url), { cacheName: rules.CACHE }).then(function (hit) {
        if (hit) return hit;
        throw error;
      });
    },
  );
}

self.addEventListener('fetch', function (event) {
  var strategy = rules.strategyFor(event.request, self.location.origin);
  if (strategy === 'cache-first') event.respondWith(cacheFirst(event));
  else if (strategy === 'network-first') event.respondWith(networkFirst(event));
  // 'none': not handled here, the browser goes to the network as if there were no worker.
});
