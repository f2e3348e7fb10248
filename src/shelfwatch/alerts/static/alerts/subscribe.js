// The public subscribe page: live badges over SSE, then contact -> code -> subscriptions
// through the JSON API. Works on a phone; no build step.
(function () {
  "use strict";
  var root = document.getElementById("subscribe");
  if (!root) { return; }
  var sourceId = root.dataset.source;
  var problem = document.getElementById("problem");
  var contact = null;
  // Words the page shows from here come translated in the markup's data attributes.
  var addressLabel = document.getElementById("address-label");
  function label(el, key, fallback) { return (el && el.dataset[key]) || fallback; }

  function show(el, on) { el.hidden = !on; }
  function say(text) { problem.textContent = text || ""; }

  function api(method, path, body) {
    return fetch("/api/v1/" + path, {
      method: method,
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.detail || ("The server answered " + response.status));
          error.code = data.code;
          throw error;
        }
        return data;
      });
    });
  }

  function chosenItems() {
    return Array.prototype.map.call(
      root.querySelectorAll("input[name=item]:checked"), function (box) { return Number(box.value); });
  }

  // Live availability: one stream for the whole shop.
  if (window.EventSource) {
    var stream = new EventSource("/api/v1/events/stream?topics=" + encodeURIComponent("source:" + sourceId));
    var update = function (message) {
      var data = JSON.parse(message.data);
      var payload = data.payload || data;
      var row = root.querySelector('li[data-item="' + payload.item_id + '"]');
      if (!row) { return; }
      var badge = row.querySelector("[data-badge]");
      if (payload.available === true) { badge.textContent = label(root, "labelIn", "In stock"); badge.className = "badge in"; }
      if (payload.available === false) { badge.textContent = label(root, "labelOut", "Out of stock"); badge.className = "badge out"; }
      if (payload.price) { row.querySelector("[data-price]").textContent = (payload.currency || "") + " " + payload.price; }
    };
    ["watch.back_in_stock", "watch.out_of_stock", "watch.price_changed", "watch.product_updated"]
      .forEach(function (type) { stream.addEventListener(type, update); });
  }

  var channel = document.getElementById("channel");
  channel.addEventListener("change", function () {
    var email = channel.value === "email";
    addressLabel.textContent = email
      ? label(addressLabel, "labelEmail", "Email address")
      : label(addressLabel, "labelWhatsapp", "WhatsApp number");
    var address = document.getElementById("address");
    address.type = email ? "email" : "tel";
    address.setAttribute("inputmode", email ? "email" : "tel");
    address.placeholder = email ? "you@example.com" : "+91 98765 43210";
  });

  document.getElementById("contact-form").addEventListener("submit", function (event) {
    event.preventDefault();
    say("");
    if (!chosenItems().length) { say(label(problem, "tickFirst", "Tick at least one product first.")); return; }
    api("POST", "contacts", { channel: channel.value, address: document.getElementById("address").value })
      .then(function (made) {
        contact = made;
        document.getElementById("sent-to").textContent = made.address;
        show(document.getElementById("contact-form"), false);
        show(document.getElementById("code-form"), true);
        document.getElementById("code").focus();
      })
      .catch(function (error) { say(error.message); });
  });

  document.getElementById("resend").addEventListener("click", function () {
    say("");
    api("POST", "contacts/" + contact.id + "/resend", { contact_token: contact.contact_token })
      .then(function () { say(label(problem, "codeSent", "A new code is on its way.")); })
      .catch(function (error) { say(error.message); });
  });

  document.getElementById("code-form").addEventListener("submit", function (event) {
    event.preventDefault();
    say("");
    var code = document.getElementById("code").value.trim();
    api("POST", "contacts/" + contact.id + "/verify", { code: code, contact_token: contact.contact_token })
      .then(function (verified) {
        var items = chosenItems();
        return Promise.all(items.map(function (itemId) {
          return api("POST", "subscriptions", {
            contact_id: verified.id, contact_token: verified.contact_token, item_id: itemId, kind: "back_in_stock"
          });
        }));
      })
      .then(function (made) {
        show(document.getElementById("code-form"), false);
        document.getElementById("done-count").textContent = String(made.length);
        show(document.getElementById("done"), true);
      })
      .catch(function (error) { say(error.message); });
  });
})();
