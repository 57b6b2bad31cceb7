// An asset's page: set the focal point by clicking the picture, and follow the
// renditions while the workers make them.
(function () {
  "use strict";
  const picker = document.querySelector(".focal-picker");
  if (picker) {
    const image = picker.querySelector("img");
    const mark = picker.querySelector(".focal-mark");
    const fx = document.querySelector('input[name="focal_x"]');
    const fy = document.querySelector('input[name="focal_y"]');
    function place(x, y) {
      mark.style.left = (x * 100) + "%";
      mark.style.top = (y * 100) + "%";
    }
    place(parseFloat(picker.dataset.focalX), parseFloat(picker.dataset.focalY));
    image.addEventListener("click", function (event) {
      const box = image.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
      if (fx && fy) { fx.value = x.toFixed(3); fy.value = y.toFixed(3); }
      const mode = document.querySelector('select[name="fit_mode"]');
      if (mode) mode.value = "cover";
      place(x, y);
    });
  }

  // LED previews are shown at their own size (each board pixel a few screen pixels):
  // open them on the middle of the picture, where the content is.
  document.querySelectorAll(".led-link").forEach(function (box) {
    const image = box.querySelector("img");
    function centre() {
      box.scrollLeft = (box.scrollWidth - box.clientWidth) / 2;
      box.scrollTop = (box.scrollHeight - box.clientHeight) / 2;
    }
    if (image.complete) centre(); else image.addEventListener("load", centre);
  });

  const renditions = document.querySelector(".renditions");
  if (!renditions) return;
  const waiting = renditions.querySelector('[data-state="pending"], [data-state="running"]');
  if (!waiting) return;
  function poll() {
    fetch(renditions.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        let busy = false;
        body.derivatives.forEach(function (d) {
          const figure = renditions.querySelector('[data-derivative="' + d.id + '"]');
          if (!figure) return;
          const bar = figure.querySelector("progress");
          if (bar) bar.value = Math.round(d.progress * 100);
          if (d.state === "pending" || d.state === "running") busy = true;
          else if (figure.dataset.state !== d.state) figure.dataset.changed = "1";
        });
        if (busy) window.setTimeout(poll, 1500);
        else window.location.reload();
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
})();
