/* The finder's small enhancements. The pages work without this file: it adds "Use my location"
   (browser geolocation, with a plain message when it is refused or fails) and a print button. */
(function () {
  "use strict";

  function setupLocation() {
    var button = document.getElementById("use-location");
    var where = document.getElementById("where");
    var lat = document.getElementById("lat");
    var lon = document.getElementById("lon");
    var status = document.getElementById("location-status");
    if (!button || !where || !lat || !lon || !status) return;
    var form = where.form;

    // A typed postcode or place replaces a location found earlier.
    where.addEventListener("input", function () {
      lat.value = "";
      lon.value = "";
    });

    if (!("geolocation" in navigator)) return; // no button: the search box is the way
    button.hidden = false;

    var messages = {
      1: "You did not allow this page to see your location, or your browser blocked it. " +
         "Type a postcode or place name instead.",
      2: "Your device could not tell where you are just now. Type a postcode or place name instead.",
      3: "Finding your location took too long. Try again, or type a postcode or place name instead."
    };

    function fail(message) {
      button.disabled = false;
      status.textContent = message;
      status.classList.add("finder-location-failed");
      where.focus();
    }

    button.addEventListener("click", function () {
      button.disabled = true;
      status.classList.remove("finder-location-failed");
      status.textContent = "Finding your location\u2026";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          // About 100 m is near enough to list what is close, and says less about where you are.
          lat.value = position.coords.latitude.toFixed(3);
          lon.value = position.coords.longitude.toFixed(3);
          where.value = "";
          status.textContent = "Found your location. Searching\u2026";
          form.submit();
        },
        function (error) {
          fail(messages[error.code] || messages[2]);
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 }
      );
    });
  }

  function setupPrint() {
    var button = document.getElementById("print-list");
    if (!button || typeof window.print !== "function") return;
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
    var share = document.getElementById("share-url");
    if (share) share.addEventListener("focus", function () { share.select(); });
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    setupLocation();
    setupPrint();
  });
})();
