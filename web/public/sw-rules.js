/*
 * What the service worker (sw.js) may keep in Cache Storage: the workstation's static build
 * only, never patient data. A classic script (sw.js loads it with importScripts) that sets
 * `self.hfSwRules`; lib/pwa/swRules.test.ts runs this same file.
 *
 * - cache-first: content-hashed build assets (/_next/static/...), icons, fonts: a name never
 *   changes its bytes.
 * - network-first: the manifest and the HTML shell pages (the static export's index.html files, no patient data
 *   in them), kept under the path alone: /viewer/?study=<uid> is kept as /viewer/, so no study
 *   or patient identifier is ever stored.
 * - none: everything else: the API (/api), DICOMweb (/dicom-web), WADO (/wado), other origins,
 *   anything but GET, and any response that says no-store or private.
 */
(function (scope) {
  'use strict';

  // A new version clears every older hf- cache when the new worker activates.
  var VERSION = 'v1';
  var CACHE = 'hf-static-' + VERSION;
  var NEVER = ['/api', '/dicom-web', '/wado'];
  var IMMUTABLE = /^\/_next\/static\//;
  var STATIC_FILE = /^\/(icons\/[\w.-]+\.png|icon\.svg|favicon\.ico)$/;
  var FONT = /\.woff2?$/;

  function underPrefix(path, prefix) {
    return path === prefix || path.indexOf(prefix + '/') === 0;
  }

  function isPatientDataPath(path) {
    var lower = path.toLowerCase();
    return NEVER.some(function (prefix) {
      return underPrefix(lower, prefix);
    });
  }

  function isShellPage(path) {
    return path === '/' || /\/$/.test(path) || /\.html$/.test(path);
  }

  /**
   * How a request is served: 'cache-first', 'network-first' or 'none' (straight to the network,
   * nothing kept). `request` needs url and method.
   */
  function strategyFor(request, origin) {
    var url = new URL(request.url);
    if (url.origin !== origin || request.method !== 'GET') return 'none';
    var path = url.pathname;
    if (isPatientDataPath(path)) return 'none';
    if (IMMUTABLE.test(path) || FONT.test(path)) return url.search ? 'none' : 'cache-first';
    if (STATIC_FILE.test(path)) return 'cache-first';
    if (path === '/manifest.webmanifest' || isShellPage(path)) return 'network-first';
    return 'none';
  }

  /** The key a response is kept under: origin and path, never the query. */
  function cacheKey(url) {
    var u = new URL(url);
    return u.origin + u.pathname;
  }

  /** Whether a response may be kept: a same-origin 200 that does not forbid storing. */
  function storable(response) {
    if (!response || response.status !== 200 || response.type !== 'basic' || response.redirected) return false;
    var control = (response.headers.get('Cache-Control') || '').toLowerCase();
    return control.indexOf('no-store') < 0 && control.indexOf('private') < 0;
  }

  scope.hfSwRules = {
    VERSION: VERSION,
    CACHE: CACHE,
    strategyFor: strategyFor,
    cacheKey: cacheKey,
    storable: storable,
    isPatientDataPath: isPatientDataPath,
  };
})(self);
