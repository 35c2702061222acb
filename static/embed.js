/* The embeddable finder: <script src="https://…/static/embed.js" data-postcode="SY11 1QD"
   data-category="pharmacy" data-area="E06000051" async></script> puts an iframe of /embed/find
   where the script tag is. No cookies, nothing sent but what the attributes say. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = script.src.replace(/\/static\/embed\.js(\?.*)?$/, "");
  var params = [];
  var names = { postcode: "postcode", category: "category", area: "area" };
  Object.keys(names).forEach(function (key) {
    var value = script.getAttribute("data-" + key);
    if (value && value.trim()) params.push(names[key] + "=" + encodeURIComponent(value.trim()));
  });
  var height = parseInt(script.getAttribute("data-height") || "600", 10);
  var frame = document.createElement("iframe");
  frame.src = base + "/embed/find" + (params.length ? "?" + params.join("&") : "");
  frame.title = "Find local places and groups";
  frame.loading = "lazy";
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.style.width = "100%";
  frame.style.maxWidth = "40rem";
  frame.style.height = (isFinite(height) && height > 200 ? Math.min(height, 2000) : 600) + "px";
  frame.style.border = "1px solid #b1b4b6";
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
