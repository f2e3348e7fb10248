// Live availability and prices on storefront pages. One EventSource per page, following
// the public `product:<id>` topics of the products shown; events about other stores are
// ignored. Markup: a container with data-live-store (the chosen store's id, labels and
// currency) holding elements with data-live-product="<id>", inside which
// [data-availability] is the badge, [data-price] the price and [data-when-out] anything
// shown only while the product is out of stock (the "notify me" form). Flash-sale events
// on those topics are relayed as `storefront:flash-sale` for buy.js.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-store]");
  if (!root || !window.EventSource) { return; }
  var storeId = root.dataset.liveStore;
  var nodes = root.querySelectorAll("[data-live-product]");
  var ids = [];
  Array.prototype.forEach.call(nodes, function (node) {
    if (ids.indexOf(node.dataset.liveProduct) === -1) { ids.push(node.dataset.liveProduct); }
  });
  if (!ids.length) { return; }
  // The stream takes at most 50 topics a request; pages show fewer products than that.
  var topics = ids.slice(0, 50).map(function (id) { return "product:" + id; }).join(",");
  var stream = new EventSource("/api/v1/events/stream?topics=" + encodeURIComponent(topics));
  root.dataset.liveState = "connecting";
  stream.addEventListener("open", function () { root.dataset.liveState = "open"; });
  stream.addEventListener("error", function () { root.dataset.liveState = "retrying"; });

  function setBadge(badge, inStock) {
    if (!badge) { return; }
    badge.textContent = inStock ? root.dataset.labelIn : root.dataset.labelOut;
    badge.className = "badge " + (inStock ? "in" : "out");
  }

  function apply(message) {
    var payload = JSON.parse(message.data).payload || {};
    if (String(payload.store_id) !== storeId) { return; }
    var productId = String(payload.product_id);
    var inStock = payload.in_stock === true;
    root.querySelectorAll('[data-live-product="' + productId + '"]').forEach(function (node) {
      setBadge(node.querySelector("[data-availability]"), inStock);
      var price = node.querySelector("[data-price]");
      if (price && payload.price) { price.textContent = root.dataset.currency + " " + payload.price; }
      node.querySelectorAll("[data-when-out]").forEach(function (el) { el.hidden = inStock; });
    });
    document.dispatchEvent(new CustomEvent("storefront:availability", {
      detail: { productId: Number(productId), storeId: Number(storeId), inStock: inStock, price: payload.price || null }
    }));
  }
  ["stock.back_in_stock", "stock.out_of_stock", "stock.price_changed"].forEach(function (type) {
    stream.addEventListener(type, apply);
  });

  // Flash-sale news on the same product topics, passed on as `storefront:flash-sale`
  // ({type, payload}) for the sale's own script (buy.js); other stores' sales are dropped.
  function relaySale(message) {
    var payload = JSON.parse(message.data).payload || {};
    if (String(payload.store_id) !== storeId) { return; }
    document.dispatchEvent(new CustomEvent("storefront:flash-sale", {
      detail: { type: message.type, payload: payload }
    }));
  }
  ["flash_sale.started", "flash_sale.units_left", "flash_sale.sold_out", "flash_sale.ended"].forEach(function (type) {
    stream.addEventListener(type, relaySale);
  });
})();
