// Installs the service worker (/sw.js) where the browser has them; pages work without it.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js").catch(function () {
      // Refused (an insecure origin other than localhost, or private browsing): nothing
      // is lost but offline use.
    });
  });
})();
