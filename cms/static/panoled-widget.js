// The department's campaign widget, for any web page. Place once:
//   <div data-panoled-campaign="ID"></div>
//   <script src="https://CMS/public/widget.js" async></script>
// Each such element gets an iframe of the campaign's widget, sized to its content.
"use strict";
(function () {
  var script = document.currentScript;
  var origin = new URL(script ? script.src : "/", document.baseURI).origin;
  var frames = [];
  document.querySelectorAll("[data-panoled-campaign]").forEach(function (element) {
    var id = String(element.getAttribute("data-panoled-campaign") || "");
    if (!/^\d+$/.test(id) || element.querySelector("iframe")) return;
    var frame = document.createElement("iframe");
    frame.src = origin + "/public/widget/campaigns/" + id;
    frame.title = element.getAttribute("data-title") || "Campaign";
    frame.loading = "lazy";
    frame.style.cssText = "border:0;width:100%;min-height:200px";
    element.appendChild(frame);
    frames.push(frame);
  });
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || event.data.panoledWidget !== true) return;
    frames.forEach(function (frame) {
      if (frame.contentWindow === event.source) frame.style.height = Math.ceil(Number(event.data.height) || 200) + "px";
    });
  });
})();
