// The upload form of the imports page. Without this script it is a plain file input in a
// form (phones, old browsers); with it, a file dropped anywhere on the zone is put into
// that input, a file over the size limit is refused before it is sent, and the button says
// the upload is on its way.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("import-file");
  var problem = document.getElementById("file-problem");
  if (!form || !zone || !input) { return; }
  var maxBytes = Number(form.dataset.maxBytes) || 0;

  function tooLarge() {
    var file = input.files && input.files[0];
    return Boolean(file && maxBytes && file.size > maxBytes);
  }

  function check() {
    var large = tooLarge();
    problem.hidden = !large;
    problem.textContent = large ? problem.dataset.tooLarge : "";
    zone.classList.toggle("chosen", Boolean(input.files && input.files.length));
    return !large;
  }

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      check();
    }
  });
  input.addEventListener("change", check);
  // Back to this page from the next one (the browser's page cache): the form is usable again.
  window.addEventListener("pageshow", function () {
    document.getElementById("upload-button").disabled = false;
    document.getElementById("upload-busy").hidden = true;
  });
  form.addEventListener("submit", function (event) {
    if (!check()) { event.preventDefault(); return; }
    document.getElementById("upload-button").disabled = true;
    document.getElementById("upload-busy").hidden = false;
  });
})();
