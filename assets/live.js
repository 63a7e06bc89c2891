// Live refresh: pages that name an event stream (data-live on <main>) reload when Gangway says
// something changed. Without JavaScript the pages are complete; they just do not refresh.
(function () {
  var main = document.getElementById("main");
  var src = main && main.getAttribute("data-live");
  if (!src || !window.EventSource) return;
  var es = new EventSource(src);
  es.addEventListener("changed", function () { window.location.reload(); });
})();
