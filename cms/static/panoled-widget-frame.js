// Inside the website widget: tell the page that framed it how tall the widget is.
"use strict";
(function () {
  function report() {
    if (window.parent === window) return;
    window.parent.postMessage({ panoledWidget: true, height: document.documentElement.scrollHeight }, "*");
  }
  window.addEventListener("load", report);
  new ResizeObserver(report).observe(document.body);
})();
