// Live parts of a page listen for "camelops:poll" (every 5 s) or "camelops:tick" (every 2 s)
// on <body>. These timers fire them, and only while the tab is visible: htmx trigger filters
// (`every 2s [document.visibilityState === 'visible']`) would need eval, which our CSP forbids.
(function () {
  "use strict";
  function every(periodMs, name) {
    setInterval(function () {
      if (document.visibilityState === "visible" && window.htmx) {
        window.htmx.trigger(document.body, name);
      }
    }, periodMs);
  }
  every(5000, "camelops:poll");
  every(2000, "camelops:tick");
})();
