// Live refresh: pages that name an event stream (data-live on <main>) reload when Gangway says
// something changed. Without JavaScript the pages are complete; they just do not refresh.
(function () {
  var main = document.getElementById("main");
  var src = main && main.getAttribute("data-live");
  if (!src || !window.EventSource) return;
  var es = new EventSource(src);
  es.addEventListener("changed", function () { es.close(); window.location.reload(); });
  // Close the stream when leaving the page: a stream left open (a page kept for Back) holds one
  // of the browser's few connections to Gangway, and after a handful of pages the next page
  // waits for a free one.
  window.addEventListener("pagehide", function () { es.close(); });
})();
