// Store dashboard: inline edits, the add-product flow with match candidates, and barcode
// scanning (the browser's BarcodeDetector where it exists, a photo decoded by the server
// everywhere else). Every change goes through the JSON API with the session and CSRF token.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var store = root.dataset.store;
  var base = "/api/v1/stores/" + store + "/inventory";
  var statusLine = document.getElementById("status");
  // The page's words in its language (inventory/views.py dashboard_words): API problems
  // are shown by their code or field, never in the API's own wording.
  var wordsNode = document.getElementById("dashboard-words");
  var words = wordsNode ? JSON.parse(wordsNode.textContent) : {};
  function t(key, fallback, values) {
    var text = words[key] || fallback;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(values[name]);
    });
    return text;
  }

  function humanMessage(data, status) {
    if (data && data.code && words[data.code]) { return words[data.code]; }
    var fields = (data && data.errors) || [];
    for (var i = 0; i < fields.length; i += 1) {
      var key = "field:" + String(fields[i].field || "").split(".").pop();
      if (words[key]) { return words[key]; }
    }
    if (status === 404) { return t("not_found", "That item is gone: reload the page."); }
    if (status === 403) { return t("permission_denied", "You may not change this store."); }
    if (status === 429) { return t("rate_limited", "Too many changes at once: wait a moment and try again."); }
    return t("generic", "That could not be saved. Check the value and try again.");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The add-product form sits below the table, far from the table's status line, so its
  // messages go to a line of its own where the person pressing its buttons can see them.
  var addStatus = document.getElementById("add-status");
  function say(text, isError, line) {
    var target = line || statusLine;
    target.textContent = text;
    target.className = isError ? "error" : "muted";
  }
  function sayNearForm(text, isError) { say(text, isError, addStatus); }

  function api(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() } };
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).catch(function () {
      throw new Error(t("offline", "Could not reach the server. Check the connection and try again."));
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (ignored) { data = null; }
        if (!response.ok) {
          var error = new Error(humanMessage(data, response.status));
          error.problem = data;
          throw error;
        }
        return data;
      });
    });
  }

  // --- filters: ticking "low stock only" applies it, with no Search press needed --------
  var lowOnly = root.querySelector('form.toolbar input[name="low"]');
  lowOnly.addEventListener("change", function () { lowOnly.form.requestSubmit(); });

  // --- inline edits --------------------------------------------------------------------
  root.querySelectorAll("input.edit").forEach(function (input) {
    input.dataset.saved = input.value;
    input.addEventListener("change", function () {
      var row = input.closest("tr");
      var url = base + "/" + row.dataset.item;
      var field = input.dataset.field;
      // An emptied (or non-numeric) count or reorder level means nothing to send: the API
      // refuses a null count, and a null reorder level fails on the server (a 500).
      if (input.value === "" && field !== "selling_price") {
        input.value = input.dataset.saved;
        say(t("field:quantity", "Type a whole number, 0 or more."), true);
        return;
      }
      // Number, not parseInt: a count of 2.5 must be refused, not saved as 2.
      var request = field === "quantity"
        ? api("POST", url + "/count", { quantity: Number(input.value), reference: "dashboard" })
        : api("PATCH", url, (function () { var b = {}; b[field] = input.value === "" ? null : input.value; return b; })());
      request.then(function (item) {
        // Show what the server stored ("279.5" comes back as "279.50"), and the low-stock
        // marks a reload would show: the row colour and the tag in its last cell.
        input.value = item[field] === null ? "" : item[field];
        input.dataset.saved = input.value;
        row.classList.toggle("low", item.is_low);
        var flag = row.lastElementChild;
        flag.textContent = "";
        if (item.is_low) {
          var tag = document.createElement("span");
          tag.className = "tag warn";
          tag.textContent = t("low", "low");
          flag.appendChild(tag);
        }
        row.classList.add("saved");
        setTimeout(function () { row.classList.remove("saved"); }, 1200);
        say(t("saved", "Saved."));
      }).catch(function (error) {
        input.value = input.dataset.saved;
        say(error.message, true);
      });
    });
  });

  // --- barcode scanning ----------------------------------------------------------------
  var photo = document.getElementById("photo");
  var camera = document.getElementById("camera");
  var video = document.getElementById("video");
  var onCode = null;
  var stream = null;

  function stopCamera() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    camera.hidden = true;
  }
  document.getElementById("camera-close").addEventListener("click", stopCamera);

  function scanLive(detector) {
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      camera.hidden = false;
      return video.play().then(function () {
        function tick() {
          if (!stream) { return; }
          detector.detect(video).then(function (codes) {
            if (codes.length) { stopCamera(); onCode(codes[0].rawValue); } else { setTimeout(tick, 200); }
          }).catch(function () { setTimeout(tick, 400); });
        }
        tick();
      });
    });
  }

  function scan(then) {
    onCode = then;
    if ("BarcodeDetector" in window && navigator.mediaDevices) {
      var detector = new window.BarcodeDetector({ formats: ["ean_13", "ean_8", "upc_a", "upc_e", "code_128"] });
      scanLive(detector).catch(function () { stopCamera(); photo.click(); });
    } else {
      photo.click();
    }
  }

  photo.addEventListener("change", function () {
    if (!photo.files.length) { return; }
    var form = new FormData();
    form.append("file", photo.files[0]);
    photo.value = "";
    say(t("reading", "Reading the barcode…"));
    api("POST", "/api/v1/catalog/scan", form).then(function (result) {
      if (!result.codes.length) { say(t("no_barcode", "No barcode found in that photo; try closer and in focus."), true); return; }
      say("");
      onCode(result.codes[0].gtin || result.codes[0].text);
    }).catch(function (error) { say(error.message, true); });
  });

  function sameCode(a, b) {
    var strip = function (code) { return (code || "").replace(/^0+/, ""); };
    return strip(a) !== "" && strip(a) === strip(b);
  }

  document.getElementById("count-scan").addEventListener("click", function () {
    scan(function (code) {
      var rows = root.querySelectorAll("tr[data-item]");
      for (var i = 0; i < rows.length; i++) {
        if (sameCode(rows[i].dataset.barcode, code)) {
          var input = rows[i].querySelector('input[data-field="quantity"]');
          input.focus();
          input.select();
          say(t("found", "Found %(code)s: type the counted quantity.", { code: code }));
          return;
        }
      }
      say(t("not_stocked", "%(code)s is not stocked here. Add it below.", { code: code }), true);
      addForm.barcode.value = code;
      lookup(code);
    });
  });

  // --- adding a product: match first, then stock or create -----------------------------
  // Back from adding a product (stockProduct below): its row is marked and scrolled to,
  // and the table's status line says what happened; the address drops `added` so a
  // reload does not say it again.
  (function () {
    var params = new URLSearchParams(window.location.search);
    var added = params.get("added");
    if (!added) { return; }
    params.delete("added");
    var rest = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : "") + window.location.hash);
    var row = root.querySelector('tr[data-item="' + CSS.escape(added) + '"]');
    if (!row) { say(t("added", "Added to the store.")); return; }
    row.classList.add("saved");
    say(t("added_name", "Added %(name)s to the store.", { name: row.dataset.name || "" }));
    row.scrollIntoView({ block: "center" });
  })();

  var addForm = document.getElementById("add-form");
  var panel = document.getElementById("candidates");
  var list = document.getElementById("candidate-list");

  document.getElementById("add-scan").addEventListener("click", function () {
    scan(function (code) { addForm.barcode.value = code; lookup(code); });
  });

  function lookup(code) {
    api("GET", "/api/v1/products?q=" + encodeURIComponent(code)).then(function (page) {
      var exact = page.items.filter(function (p) { return sameCode(p.barcode, code); });
      if (exact.length) {
        showCandidates([{ product_id: exact[0].id, name: exact[0].name, brand: exact[0].brand, score: 1, reasons: ["same barcode"], reason_codes: SAME_BARCODE }]);
      } else {
        sayNearForm(t("not_in_catalog", "Not in the catalog yet: fill in the name and check."));
      }
    }).catch(function (error) { sayNearForm(error.message, true); });
  }

  function details() {
    var data = new FormData(addForm);
    var out = {};
    data.forEach(function (value, key) { if (value !== "") { out[key] = value; } });
    return out;
  }

  function stockProduct(productId) {
    var d = details();
    var body = { product_id: productId, quantity: parseInt(d.quantity || "0", 10) };
    if (d.selling_price) { body.selling_price = d.selling_price; }
    return api("POST", base, body).then(function (item) {
      sayNearForm(t("added", "Added to the store."));
      // A reload would lose that line: the page comes back showing the new row instead.
      window.location.assign(window.location.pathname + "?added=" + encodeURIComponent(item.id));
    }).catch(function (error) {
      if (error.problem && error.problem.code === "stock_item_exists") {
        sayNearForm(t("already_stocked", "This store already stocks it: edit its row in the table."), true);
      } else {
        sayNearForm(error.message, true);
      }
    });
  }

  // Why a candidate is offered, in the page's words (inventory/views.py
  // candidate_reason_words) by the matcher's reason codes; a reason with no words there
  // is shown as the matcher wrote it, so nothing is left out.
  var SAME_BARCODE = [{ code: "same_barcode", values: [] }];
  function nameWords(similarity) {
    if (similarity >= 0.98) { return "reason:name_same"; }
    if (similarity >= 0.85) { return "reason:name_almost"; }
    if (similarity >= 0.6) { return "reason:name_similar"; }
    return "reason:name_partly";
  }
  function reasonWords(c) {
    var codes = c.reason_codes || (c.reasons || []).map(function (r) { return { code: "other", values: [r] }; });
    var has = {};
    codes.forEach(function (r) { has[r.code] = true; });
    var out = [];
    codes.forEach(function (r) {
      var values = { a: r.values[0] || "", b: r.values[1] || "" };
      var key = "reason:" + r.code;
      if (r.code === "same_brand" && has.same_quantity) { key = "reason:same_brand_and_size"; }
      else if (r.code === "same_quantity" && has.same_brand) { return; }
      else if (r.code === "name_similarity") { key = nameWords(parseFloat(r.values[0])); }
      var text = words[key] ? t(key, "", values) : r.values.join(" ");
      if (text && out.indexOf(text) < 0) { out.push(text); }
    });
    return out.join(", ");
  }

  function showCandidates(candidates) {
    list.textContent = "";
    candidates.forEach(function (c) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = c.name + (c.brand ? " (" + c.brand + ")" : "") + " · " + Math.round(c.score * 100) + "% · " + reasonWords(c);
      var button = document.createElement("button");
      button.type = "button";
      // A product this store already stocks cannot be stocked again (the API says
      // stock_item_exists): its button leads to its row instead.
      var stocked = root.querySelector('tr[data-product="' + CSS.escape(String(c.product_id)) + '"]');
      if (stocked) {
        label.textContent += " · " + t("stocked_here", "already stocked here");
        button.textContent = t("go_to_row", "Go to its row");
        button.addEventListener("click", function () {
          stocked.classList.add("saved");
          stocked.scrollIntoView({ block: "center" });
          var box = stocked.querySelector('input[data-field="quantity"]');
          if (box) { box.focus({ preventScroll: true }); }
        });
      } else {
        button.textContent = t("stock_this", "Stock this");
        button.addEventListener("click", function () { stockProduct(c.product_id); });
      }
      item.appendChild(label);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(button);
      list.appendChild(item);
    });
    panel.hidden = false;
  }

  addForm.addEventListener("submit", function (event) {
    event.preventDefault();
    confirmNew = false;
    var d = details();
    var query = { name: d.name, brand: d.brand || "", barcode: d.barcode || null, net_unit: d.net_unit || "" };
    if (d.net_quantity) { query.net_quantity = d.net_quantity; }
    api("POST", "/api/v1/catalog/match", query).then(function (result) {
      if (result.candidates.length) {
        showCandidates(result.candidates);
        sayNearForm(result.likely_duplicate ? t("likely_duplicate", "This looks like a product the catalog already has.") : t("possible_matches", "Possible matches below."));
      } else {
        panel.hidden = true;
        createProduct();
      }
    }).catch(function (error) { sayNearForm(error.message, true); });
  });

  // Sent without confirm_new first: when the catalog has a likely duplicate the API says so
  // (possible_duplicate), the candidates are shown with its message, and only the button
  // pressed again creates the product anyway.
  var confirmNew = false;
  function createProduct() {
    var d = details();
    var body = { name: d.name, brand: d.brand || "", barcode: d.barcode || null, net_unit: d.net_unit || "", confirm_new: confirmNew };
    if (d.net_quantity) { body.net_quantity = d.net_quantity; }
    api("POST", "/api/v1/products", body).then(function (product) {
      confirmNew = false;
      return stockProduct(product.id);
    }).catch(function (error) {
      var problem = error.problem || {};
      if (problem.code === "possible_duplicate") {
        showCandidates(problem.candidates || []);
        confirmNew = true;
        sayNearForm(error.message, true);
      } else if (problem.code === "duplicate_barcode") {
        // The API's words, and the product holding the barcode offered under its own name.
        sayNearForm(error.message, true);
        api("GET", "/api/v1/products/" + problem.existing_product_id).then(function (p) {
          showCandidates([{ product_id: p.id, name: p.name, brand: p.brand, score: 1, reasons: ["same barcode"], reason_codes: SAME_BARCODE }]);
        }).catch(function () { /* a product this user cannot see: the message says it all */ });
      } else {
        sayNearForm(error.message, true);
      }
    });
  }
  document.getElementById("create-new").addEventListener("click", createProduct);
})();
