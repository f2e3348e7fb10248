// Pages that follow their own data live: the order status page, the account page and the
// staff order board. The element with data-follow-topics ("order:12", "store:3,...")
// opens one EventSource on those topics; each event whose type is in data-follow-events
// makes the page fetch itself again and swap in every [data-live-region] by id, so the
// server renders (and translates) the new state. A page without topics, or a browser
// without EventSource, fetches every data-follow-poll seconds (default 15) instead.
// data-live-state on that element reads connecting, open or retrying.
(function () {
  "use strict";
  var root = document.querySelector("[data-follow-topics], [data-follow-poll]");
  if (!root) { return; }
  var types = (root.dataset.followEvents || "").split(/\s+/).filter(Boolean);
  var pending = null;
  var busy = false;

  function swap() {
    pending = null;
    if (busy) { pending = window.setTimeout(swap, 300); return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          var next = region.id && fresh.getElementById(region.id);
          if (next) { region.replaceWith(document.importNode(next, true)); }
        });
        document.dispatchEvent(new CustomEvent("storefront:refreshed"));
      })
      .catch(function () { /* the next event or poll tries again */ })
      .then(function () { busy = false; });
  }

  function soon() {
    // Events often come in bursts (an order placed moves stock too): fetch once for them.
    if (pending === null) { pending = window.setTimeout(swap, 150); }
  }

  var topics = root.dataset.followTopics;
  if (topics && window.EventSource) {
    var stream = new EventSource("/api/v1/events/stream?topics=" + encodeURIComponent(topics));
    root.dataset.liveState = "connecting";
    stream.addEventListener("open", function () { root.dataset.liveState = "open"; });
    stream.addEventListener("error", function () { root.dataset.liveState = "retrying"; });
    types.forEach(function (type) { stream.addEventListener(type, soon); });
  } else {
    var seconds = Number(root.dataset.followPoll) || 15;
    root.dataset.liveState = "polling";
    window.setInterval(swap, seconds * 1000);
  }
})();
