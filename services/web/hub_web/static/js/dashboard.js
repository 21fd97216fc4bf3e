// The managers' dashboard, live: the page's figures are replaced by the ones the portal sends (server-sent
// events) whenever reporting's answer changes. Without this file a reload shows the same current figures.
"use strict";
(function () {
  var live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var source = new EventSource(live.getAttribute("data-live"));
  source.addEventListener("figures", function (event) {
    // parsed as a document of its own, which runs nothing, then moved in
    var fresh = new DOMParser().parseFromString(event.data, "text/html").body;
    live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
    var now = new Date();
    var clock = String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0") + ":" +
      String(now.getSeconds()).padStart(2, "0");
    status.textContent = status.getAttribute("data-updated") + " " + persianDigits(clock);
  });
  source.addEventListener("ended", function () { source.close(); });
}());
