// Live checks for the CVE record editor. As a member types, the form is sent
// to the server with action=check (exactly what the Check button does) and
// the findings beside each field are replaced with the fresh ones. Nothing is
// saved. Without JavaScript the Check button does the same job.
(function () {
  "use strict";
  var form = document.getElementById("record-form");
  if (!form || !window.fetch || !window.DOMParser || !window.URLSearchParams) {
    return;
  }
  var timer = null;
  var latest = 0;

  function check() {
    var body = new URLSearchParams(new FormData(form));
    body.set("action", "check");
    var mine = ++latest;
    // getAttribute: `form.action` would be the buttons named "action".
    fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (mine !== latest) {
          return; // a newer check is on its way
        }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        if (!fresh.getElementById("record-form")) {
          return; // not the editor (signed out?): keep what is shown
        }
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var next = fresh.getElementById(el.id);
          var nodes = next ? Array.prototype.map.call(next.childNodes, function (n) {
            return document.importNode(n, true);
          }) : [];
          el.replaceChildren.apply(el, nodes);
        });
        form.setAttribute("data-checked", String(mine));
      })
      .catch(function () { /* offline or signed out: the buttons still work */ });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(check, 600);
  }
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
})();
