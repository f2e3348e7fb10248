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

  // Problems in words for people, by the API's code (alerts/views.py subscribe_words).
  var wordsNode = document.getElementById("subscribe-words");
  var words = wordsNode ? JSON.parse(wordsNode.textContent) : {};
  function friendly(data, status) {
    if (data && data.code && words[data.code]) { return words[data.code]; }
    if (status === 429) { return words.rate_limited || "Too many tries at once. Wait a minute and try again."; }
    return words.generic || "Something went wrong on our side. Please try again in a moment.";
  }

  function show(el, on) { el.hidden = !on; }
  function say(text) { problem.textContent = text || ""; }

  // The visitor's session cookie rides along, so writes carry the page's CSRF token.
  var csrfInput = document.querySelector("[name=csrfmiddlewaretoken]");
  function api(method, path, body) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (csrfInput) { headers["X-CSRFToken"] = csrfInput.value; }
    return fetch("/api/v1/" + path, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined
    }).catch(function () {
      throw new Error(words.offline || "Could not reach the server. Check the connection and try again.");
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(friendly(data, response.status));
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

  // What to hear about: back in stock, a price at or under a target, or a drop of some
  // percent; the matching number field shows under the chosen kind.
  var kinds = root.querySelectorAll("input[name=kind]");
  function chosenKind() {
    var checked = root.querySelector("input[name=kind]:checked");
    return checked ? checked.value : "back_in_stock";
  }
  function showKindDetails() {
    root.querySelectorAll("[data-for-kind]").forEach(function (detail) {
      detail.hidden = detail.dataset.forKind !== chosenKind();
    });
  }
  Array.prototype.forEach.call(kinds, function (box) { box.addEventListener("change", showKindDetails); });
  showKindDetails();
  function terms() {
    var kind = chosenKind();
    var body = { kind: kind };
    if (kind === "price_below") { body.target_price = document.getElementById("target-price").value || null; }
    if (kind === "price_drop") { body.min_drop_percent = document.getElementById("drop-percent").value || null; }
    return body;
  }
  function termsProblem() {
    var body = terms();
    if (body.kind === "price_below" && !(Number(body.target_price) > 0)) { return words.target_price_required; }
    if (body.kind === "price_drop" && !(Number(body.min_drop_percent) >= 1 && Number(body.min_drop_percent) <= 99)) {
      return words.drop_percent_required;
    }
    return "";
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
    var wrongTerms = termsProblem();
    if (wrongTerms) { say(wrongTerms); return; }
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
          var body = terms();
          body.contact_id = verified.id;
          body.contact_token = verified.contact_token;
          body.item_id = itemId;
          return api("POST", "subscriptions", body);
        }));
      })
      .then(function (made) {
        show(document.getElementById("code-form"), false);
        document.getElementById("done-count").textContent = String(made.length);
        show(document.getElementById("done"), true);
      })
      .catch(function (error) { say(error.message); });
  });

  // A product's price history loads when its disclosure is first opened: a few kilobytes
  // of inline SVG for that product only, never for the whole list.
  root.addEventListener("toggle", function (event) {
    var box = event.target;
    if (!box.open || !box.dataset || !box.dataset.historyUrl || box.dataset.loaded) { return; }
    box.dataset.loaded = "1";
    fetch(box.dataset.historyUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("history"); }
        return response.text();
      })
      .then(function (html) { box.insertAdjacentHTML("beforeend", html); })
      .catch(function () {
        delete box.dataset.loaded;
        var note = document.createElement("p");
        note.className = "muted";
        note.textContent = words.offline || "Could not reach the server. Check the connection and try again.";
        box.appendChild(note);
      });
  }, true);
})();
