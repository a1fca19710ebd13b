// The digest preview's frame grows to the whole email (templates/dashboard/digest_preview.html). The frame is
// sandboxed without scripts; allow-same-origin only lets this page measure its document.
(function () {
  "use strict";
  function fit(frame) {
    var doc = frame.contentDocument;
    if (!doc || !doc.documentElement) { return; }
    var height = Math.max(doc.documentElement.scrollHeight, doc.body ? doc.body.scrollHeight : 0);
    frame.style.height = height + 2 + "px";  // + its 1 px border, top and bottom
    frame.setAttribute("data-fitted", "true");
  }
  document.querySelectorAll("iframe[data-fit-content]").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    window.addEventListener("resize", function () { fit(frame); });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") { fit(frame); }
  });
})();
