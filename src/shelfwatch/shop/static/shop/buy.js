// Buying on storefront pages, in plain JavaScript on top of server-rendered forms:
// - the add-to-cart button follows live availability (`storefront:availability`);
// - a flash sale ([data-slot=flash-sale]) counts down to its start or end and shows the
//   units left from `storefront:flash-sale` events; its data-state is upcoming, running,
//   sold_out or ended, and the markup shows what fits each state;
// - cart holds ([data-expires-at]) count down and say when they ran out.
(function () {
  "use strict";
  var form = document.querySelector("[data-slot=add-to-cart][data-product-id]");
  var sale = document.querySelector("[data-slot=flash-sale][data-sale-id]");
  var button = form ? form.querySelector("button[type=submit]") : null;

  // What is left, in the largest units ("6 d 23 h", "5 h 12 min", "9 min", "40 s"), in the
  // page's language: the words come from the body's data-fmt-* attributes, the same
  // translations the server used to write the first value.
  var formats = document.body.dataset;
  function fill(format, values) {
    return format.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }
  function clock(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var values = { days: Math.floor(s / 86400), hours: Math.floor(s / 3600) % 24, minutes: Math.floor(s / 60) % 60 };
    if (values.days) { return fill(formats.fmtDays || "{days} d {hours} h", values); }
    if (values.hours) { return fill(formats.fmtHours || "{hours} h {minutes} min", values); }
    if (values.minutes) { return fill(formats.fmtMinutes || "{minutes} min", values); }
    return fill(formats.fmtSeconds || "{seconds} s", { seconds: s });
  }

  function refreshButton() {
    if (!button) { return; }
    // A sold-out sale does not block: the server sells at the regular price then.
    var inStock = form.dataset.inStock === "1";
    button.disabled = !inStock || form.dataset.priced === "0";
  }

  document.addEventListener("storefront:availability", function (event) {
    if (!form || String(event.detail.productId) !== form.dataset.productId) { return; }
    form.dataset.inStock = event.detail.inStock ? "1" : "0";
    refreshButton();
  });

  function setState(state) {
    if (!sale || sale.dataset.state === state) { return; }
    sale.dataset.state = state;
    refreshButton();
  }

  function tickSale() {
    if (!sale) { return; }
    var now = Date.now();
    var starts = Date.parse(sale.dataset.startsAt);
    var ends = Date.parse(sale.dataset.endsAt);
    var state = sale.dataset.state;
    if (now >= ends) { setState("ended"); }
    else if (state === "upcoming" && now >= starts) { setState("running"); }
    var countdown = sale.querySelector("[data-countdown]");
    if (countdown) {
      countdown.textContent = clock((sale.dataset.state === "upcoming" ? starts : ends) - now);
    }
  }

  document.addEventListener("storefront:flash-sale", function (event) {
    var payload = event.detail.payload;
    if (!sale || String(payload.flash_sale_id) !== sale.dataset.saleId) { return; }
    var units = sale.querySelector("[data-units-left]");
    if (units && typeof payload.units_left === "number") { units.textContent = payload.units_left; }
    if (event.detail.type === "flash_sale.ended") { setState("ended"); }
    else if (event.detail.type === "flash_sale.sold_out" || payload.units_left === 0) { setState("sold_out"); }
    else if (payload.units_left > 0 && sale.dataset.state !== "ended") {
      // Units came back (a hold expired or an order was cancelled), or the sale started.
      setState(Date.now() >= Date.parse(sale.dataset.startsAt) ? "running" : "upcoming");
    }
  });

  var holds = document.querySelectorAll("[data-expires-at]");
  function tickHolds() {
    Array.prototype.forEach.call(holds, function (hold) {
      var left = Date.parse(hold.dataset.expiresAt) - Date.now();
      var countdown = hold.querySelector("[data-countdown]");
      if (countdown) { countdown.textContent = clock(left); }
      if (left <= 0) { hold.dataset.state = "expired"; }
    });
  }

  // A submitted form is not sent again by a second click (the server would place one
  // order anyway: the checkout form carries its own Idempotency-Key).
  document.querySelectorAll("form[data-once]").forEach(function (once) {
    once.addEventListener("submit", function () {
      once.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });

  refreshButton();
  if (sale || holds.length) {
    tickSale();
    tickHolds();
    window.setInterval(function () { tickSale(); tickHolds(); }, 1000);
  }
})();
