// Firebreak's only script (served from this origin; the Content-Security-Policy forbids
// inline script). Pages marked data-live refresh their main content when the server says
// the store changed, unless someone is typing into a form.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource) { return; }
  var busy = function () {
    var a = document.activeElement;
    return a && a.form && (a.value || "") !== "";
  };
  var refresh = function () {
    if (busy()) { return; }
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main[data-live]");
        if (fresh) {
          main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes).map(function (n) {
            return document.importNode(n, true);
          }));
          main.setAttribute("data-refreshed", String(Date.now()));
        }
      });
  };
  var source = new EventSource("/live");
  source.addEventListener("changed", refresh);
})();
