// Media uploads with a progress bar per file: each file is sent as the raw body of
// its own request, so the server streams it to disk. Without JavaScript the form
// still works as a plain multipart upload.
(function () {
  "use strict";
  const box = document.querySelector(".uploader");
  if (!box) return;
  const form = box.querySelector(".upload-form");
  const input = form.querySelector('input[type="file"]');
  const kind = form.querySelector('select[name="as_banner"]');
  const list = box.querySelector(".upload-list");
  const template = document.getElementById("upload-row");
  const zone = box.querySelector(".dropzone");
  let queue = [];
  let running = 0;
  let finished = 0;

  function row(file) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelector(".name").textContent = file.name;
    list.appendChild(item);
    return item;
  }

  function send(file, item) {
    const bar = item.querySelector("progress");
    const state = item.querySelector(".state");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", box.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", box.dataset.csrf);
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("X-Media-Kind", kind && kind.value === "banner" ? "banner" : "poster");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.addEventListener("load", function () {
      let answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = { ok: false, message: xhr.statusText }; }
      bar.value = 100;
      item.classList.add(answer.ok ? "done" : "failed");
      state.textContent = answer.message || "";
      if (answer.ok && answer.url) {
        const link = document.createElement("a");
        link.href = answer.url;
        link.textContent = " →";
        state.appendChild(link);
      }
      next(true);
    });
    xhr.addEventListener("error", function () {
      item.classList.add("failed");
      state.textContent = box.dataset.networkError || "network error";
      next(false);
    });
    xhr.send(file);
  }

  function next(done) {
    if (done !== undefined) { running -= 1; finished += 1; }
    while (running < 2 && queue.length) {
      const job = queue.shift();
      running += 1;
      send(job.file, job.item);
    }
    if (running === 0 && queue.length === 0 && finished) {
      box.dataset.finished = String(finished);
      window.setTimeout(function () { window.location.reload(); }, 1500);
    }
  }

  function add(files) {
    Array.prototype.forEach.call(files, function (file) { queue.push({ file: file, item: row(file) }); });
    next();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    add(input.files);
    input.value = "";
  });
  input.addEventListener("change", function () { add(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) { add(event.dataTransfer.files); });
})();
