/* The gap page's form: choosing a type of place sets its default catchment radii.
 *
 * Progressive enhancement. Each type option carries its defaults (data-radius: urban,
 * data-rural: rural); without this script the radii stay as typed and the hints name the
 * defaults of the type shown. Text goes into the page with textContent only.
 */
(function () {
  "use strict";

  var type = document.getElementById("gap-category");
  if (!type) { return; }
  var fields = [
    {input: document.getElementById("gap-radius"), hint: document.getElementById("gap-radius-hint"), key: "radius"},
    {input: document.getElementById("gap-rural-radius"), hint: document.getElementById("gap-rural-hint"), key: "rural"}
  ];

  function metres(value) {
    return Number(value).toLocaleString("en-GB", {maximumFractionDigits: 0});
  }

  type.addEventListener("change", function () {
    var option = type.options[type.selectedIndex];
    if (!option) { return; }
    var label = option.textContent.replace(/\s*\([\d,]+\)\s*$/, "").toLowerCase();
    fields.forEach(function (f) {
      var value = option.getAttribute("data-" + f.key);
      if (!f.input || !value) { return; }
      f.input.value = value;
      if (f.hint) {
        var template = f.hint.getAttribute("data-template") || "Default for {type}: {m} m";
        f.hint.textContent = template.replace("{type}", label).replace("{m}", metres(value));
      }
    });
  });
}());
