// Imports, live, on staff pages: one EventSource per page on the topics of #import-live
// (the signed-in person's "user:<id>", and "store:<id>" on the imports pages).
// - imports.progress / imports.finished update every [data-import-job="<id>"] on the page:
//   its [data-count=...] numbers, its <progress> and its [data-status] word.
// - imports.finished of an import this person uploaded shows a notice with a link to it.
// - The job page ([data-import-poll]) also reads the job from the API: once when the stream
//   opens (events sent before it opened are not replayed here), every 3 s while the stream
//   is unavailable, and every 30 s as a safety net. When its job ends the page reloads, so
//   the server lists the rows to fix.
(function () {
  "use strict";
  var root = document.getElementById("import-live");
  if (!root) { return; }
  var FINISHED = ["completed", "failed", "cancelled"];
  var COUNTS = ["total_rows", "processed", "successful", "failed", "skipped", "duplicates_found"];
  var user = root.dataset.user;
  var watched = document.querySelector("[data-import-poll]");
  var pollTimer = null;

  function word(key) {
    var found = document.querySelector('[data-word="' + key + '"]');
    return found ? found.textContent : "";
  }

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) {
      return values[name] === null || values[name] === undefined ? "" : String(values[name]);
    });
  }

  function show(job) {
    var selector = '[data-import-job="' + job.job_id + '"]';
    document.querySelectorAll(selector).forEach(function (block) {
      COUNTS.forEach(function (name) {
        if (job[name] === null || job[name] === undefined) { return; }
        block.querySelectorAll('[data-count="' + name + '"]').forEach(function (el) {
          el.textContent = job[name];
        });
      });
      block.querySelectorAll("progress").forEach(function (bar) {
        if (job.total_rows) {
          bar.max = job.total_rows;
          bar.value = Math.min(job.processed, job.total_rows);
        }
      });
      block.querySelectorAll("[data-status]").forEach(function (el) {
        el.dataset.status = job.status;
        el.textContent = word("status:" + job.status) || job.status;
      });
      if (FINISHED.indexOf(job.status) >= 0) {
        block.querySelectorAll("[data-while-running]").forEach(function (el) { el.hidden = true; });
      }
    });
    if (watched && String(job.job_id) === watched.dataset.importJob &&
        FINISHED.indexOf(job.status) >= 0 &&
        FINISHED.indexOf(watched.dataset.renderedStatus) < 0) {
      watched.dataset.renderedStatus = job.status;  // reload once
      window.location.reload();
    }
  }

  function notify(event) {
    var job = event.payload;
    if ((event.topics || []).indexOf("user:" + user) < 0) { return; }
    var text = word("finished:" + job.status);
    if (!text) { return; }
    var toast = document.getElementById("import-toast");
    var box = toast.querySelector(".toast-box");
    var link = toast.querySelector(".toast-link");
    toast.querySelector(".toast-text").textContent = fill(text, job);
    // data-job-url is the job page of store 0, job 0: put this job's numbers in.
    link.href = root.dataset.jobUrl.replace("/0/", "/" + job.store_id + "/")
      .replace("/0/", "/" + job.job_id + "/");
    box.hidden = false;
    toast.querySelector(".toast-close").onclick = function () { box.hidden = true; };
  }

  function poll() {
    if (!watched || FINISHED.indexOf(watched.dataset.renderedStatus) >= 0) { return; }
    fetch(watched.dataset.importPoll, {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (job) { job.job_id = job.id; show(job); }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function pollEvery(seconds) {
    if (!watched) { return; }
    if (pollTimer !== null) { window.clearInterval(pollTimer); }
    pollTimer = window.setInterval(poll, seconds * 1000);
  }

  function handle(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (!data || !data.payload) { return; }
    show(data.payload);
    if (event.type === "imports.finished") { notify(data); }
  }

  if (window.EventSource) {
    var stream = new EventSource(
      "/api/v1/events/stream?topics=" + encodeURIComponent(root.dataset.topics));
    root.dataset.liveState = "connecting";
    stream.addEventListener("open", function () {
      root.dataset.liveState = "open";
      poll();
      pollEvery(30);
    });
    stream.addEventListener("error", function () {
      root.dataset.liveState = stream.readyState === EventSource.CLOSED ? "closed" : "retrying";
      pollEvery(3);
    });
    stream.addEventListener("imports.progress", handle);
    stream.addEventListener("imports.finished", handle);
  } else {
    root.dataset.liveState = "polling";
    pollEvery(3);
  }
})();
