// The assistant's form asks the API and adds the answer to the log in place; without this
// script the same form posts to the /assistant/ page.
(function () {
  "use strict";

  function item(cls, label, text) {
    var p = document.createElement("p");
    p.className = cls;
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = label + " ";
    p.appendChild(hidden);
    p.appendChild(document.createTextNode(text));
    return p;
  }

  function enhance(form) {
    var root = form.closest("section, .asst-body") || document;
    var log = root.querySelector("[data-assistant-log]");
    var input = form.querySelector("input[name=message]");
    var conversation = form.querySelector("[data-conversation]");
    var button = form.querySelector("button[type=submit]");
    var language = document.documentElement.lang || "en";
    form.addEventListener("submit", function (event) {
      var message = input.value.trim();
      if (!message || !log || !window.fetch) return;
      event.preventDefault();
      log.appendChild(item("asst-q", form.dataset.you || "", message));
      var pending = item("asst-a", form.dataset.assistant || "", form.dataset.busy || "…");
      log.appendChild(pending);
      button.disabled = true;
      fetch(form.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value,
        },
        body: JSON.stringify({
          message: message,
          conversation_id: conversation.value || null,
          language: language,
        }),
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (result) {
          if (result.ok) {
            pending.lastChild.textContent = result.data.answer;
            conversation.value = result.data.conversation_id;
            input.value = "";
          } else {
            pending.lastChild.textContent = result.data.detail || form.dataset.error;
          }
        })
        .catch(function () {
          pending.lastChild.textContent = form.dataset.error;
        })
        .then(function () {
          button.disabled = false;
          input.focus();
        });
    });
  }

  document.querySelectorAll("[data-assistant-form]").forEach(enhance);
})();
