/* The finder's small enhancements. The pages work without this file: it adds "Use my location"
   (browser geolocation, with a plain message when it is refused or fails), a print button, and
   "my list": the places ticked are kept in this browser's localStorage (ids only, never sent
   anywhere but in the list's own link), across searches, until it is emptied. */
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

  var KEY = "assetmap.shortlist";
  var MAX = 50; // as many as /shortlist takes

  function readList() {
    try {
      var ids = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(ids) ? ids.filter(function (i) { return /^\d{1,9}$/.test(String(i)); }).map(String) : [];
    } catch (e) {
      return [];
    }
  }

  function writeList(ids) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(ids.slice(0, MAX)));
      return true;
    } catch (e) {
      return false; // storage refused (private browsing): the page's own form still works
    }
  }

  function listUrl(ids) {
    return "/shortlist" + (ids.length ? "?ids=" + ids.join(",") : "");
  }

  function showListLink() {
    var box = document.getElementById("my-list");
    var link = document.getElementById("my-list-link");
    if (!box || !link) return;
    var ids = readList();
    box.hidden = ids.length === 0;
    link.href = listUrl(ids);
    link.textContent = "See my list (" + ids.length + (ids.length === 1 ? " place)" : " places)");
  }

  function toggle(id, on) {
    var ids = readList().filter(function (i) { return i !== id; });
    if (on) ids.push(id);
    writeList(ids);
    showListLink();
  }

  function setupList() {
    var picks = document.querySelectorAll(".finder-pick input[name=ids]");
    var stored = readList();
    Array.prototype.forEach.call(picks, function (box) {
      if (stored.indexOf(box.value) >= 0) box.checked = true;
      box.addEventListener("change", function () { toggle(box.value, box.checked); });
    });
    var form = document.querySelector(".finder-shortlist-form");
    if (form && writeList(readList())) {
      var make = form.querySelector(".finder-make-list");
      if (make) make.textContent = "Make a printable list of my places";
      form.addEventListener("submit", function (event) {
        var ids = readList();
        if (!ids.length) return; // nothing kept: the form sends what is ticked
        event.preventDefault();
        window.location.href = listUrl(ids);
      });
    }
    showListLink();

    var keepAsset = document.getElementById("keep-asset");
    if (keepAsset && writeList(readList())) {
      var id = keepAsset.getAttribute("data-id");
      var label = function () {
        keepAsset.textContent = readList().indexOf(id) >= 0 ? "Remove from my list" : "Add to my list";
      };
      keepAsset.hidden = false;
      label();
      keepAsset.addEventListener("click", function () {
        toggle(id, readList().indexOf(id) < 0);
        label();
      });
    }

    var keep = document.getElementById("keep-list");
    var clear = document.getElementById("clear-list");
    var status = document.getElementById("list-status");
    if (keep && clear && writeList(readList())) {
      var pageIds = (keep.getAttribute("data-ids") || "").split(",").filter(Boolean);
      keep.hidden = readList().join(",") === pageIds.join(",");
      clear.hidden = readList().length === 0;
      keep.addEventListener("click", function () {
        writeList(pageIds);
        keep.hidden = true;
        clear.hidden = false;
        status.textContent = "Kept: new places you tick in the finder are added to this list.";
      });
      clear.addEventListener("click", function () {
        writeList([]);
        clear.hidden = true;
        keep.hidden = false;
        status.textContent = "Your list on this device is empty. This page still shows the places in its link.";
      });
    }
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    setupLocation();
    setupPrint();
    setupList();
  });
})();
