// Live parts of a page listen for "camelops:poll" on <body>. One timer fires it, and only
// while the tab is visible: htmx trigger filters would need eval, which our CSP forbids.
(function () {
  "use strict";
  var PERIOD_MS = 5000;
  setInterval(function () {
    if (document.visibilityState === "visible" && window.htmx) {
      window.htmx.trigger(document.body, "camelops:poll");
    }
  }, PERIOD_MS);
})();
