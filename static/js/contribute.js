/* The asset form's map pin, postcode lookup and duplicate warning.
 *
 * Progressive enhancement: without this script the form still works (the position comes from
 * the postcode, or from the latitude and longitude typed in, and duplicates are checked when the
 * form is sent). With it, clicking the map drops a pin that can be dragged, and fills in the
 * latitude and longitude; "Show on the map" finds the postcode; and places with a similar name
 * close by are listed as soon as there is a name and a position.
 *
 * The map is Folium's: its Leaflet map object is the global named in data-pin-map.
 * Text from the server is put into the page with textContent only, never as HTML.
 */
(function () {
  "use strict";

  var form = document.getElementById("asset-form");
  if (!form) { return; }
  var latInput = document.getElementById("lat");
  var lonInput = document.getElementById("lon");
  var nameInput = document.getElementById("name");
  var postcodeInput = document.getElementById("postcode");
  var findButton = document.getElementById("postcode-find");
  var status = document.getElementById("pin-status");
  var duplicateBox = document.getElementById("duplicate-live");
  var holder = document.querySelector("[data-pin-map]");
  var map = holder ? window[holder.getAttribute("data-pin-map")] : null;
  var marker = null;
  var duplicateTimer = null;

  function say(message) {
    if (status) { status.textContent = message; }
  }

  function readInputs() {
    var lat = parseFloat(latInput && latInput.value);
    var lon = parseFloat(lonInput && lonInput.value);
    if (isNaN(lat) || isNaN(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) { return null; }
    return L.latLng(lat, lon);
  }

  function writeInputs(latlng) {
    latInput.value = latlng.lat.toFixed(6);
    lonInput.value = latlng.lng.toFixed(6);
    say("Pin placed at latitude " + latInput.value + ", longitude " + lonInput.value + ". Drag it to adjust.");
    scheduleDuplicateCheck();
  }

  function placePin(latlng) {
    if (!map) { return; }
    if (marker) {
      marker.setLatLng(latlng);
      return;
    }
    marker = L.marker(latlng, { draggable: true, autoPan: true, title: "The place's position", alt: "Pin: the place's position" });
    marker.on("dragend", function () { writeInputs(marker.getLatLng()); });
    marker.addTo(map);
  }

  if (map && latInput && lonInput) {
    holder.classList.add("pin-map-active");
    map.on("click", function (event) {
      placePin(event.latlng);
      writeInputs(event.latlng);
    });
    var start = readInputs();
    if (start) { placePin(start); }
    [latInput, lonInput].forEach(function (input) {
      input.addEventListener("change", function () {
        var point = readInputs();
        if (point) {
          placePin(point);
          map.panTo(point);
          scheduleDuplicateCheck();
        }
      });
    });
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    });
  }

  if (findButton && postcodeInput && map) {
    findButton.hidden = false;
    findButton.addEventListener("click", function () {
      var postcode = postcodeInput.value.trim();
      if (!postcode) {
        say("Type a postcode first.");
        postcodeInput.focus();
        return;
      }
      say("Looking up " + postcode + "…");
      getJSON(form.getAttribute("data-postcode-url") + "?postcode=" + encodeURIComponent(postcode)).then(function (result) {
        if (!result.ok) {
          say((result.body.error && result.body.error.message) || "We could not find that postcode.");
          return;
        }
        var point = L.latLng(result.body.lat, result.body.lon);
        postcodeInput.value = result.body.postcode;
        map.setView(point, 17);
        placePin(point);
        writeInputs(point);
        say("Found " + result.body.postcode + (result.body.inside ? "" : ", but it is outside the areas this map covers") +
            ". The pin is at the middle of the postcode: drag it to the entrance.");
      }).catch(function () { say("We could not look up the postcode just now; it will be used when you send the form."); });
    });
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function showDuplicates(items) {
    clear(duplicateBox);
    if (!items.length) { return; }
    duplicateBox.className = "duplicate-live duplicate-warning";
    var heading = document.createElement("h2");
    heading.textContent = "Is it already on the map?";
    var intro = document.createElement("p");
    intro.textContent = "There is something with a similar name close by:";
    var list = document.createElement("ul");
    items.forEach(function (item) {
      var li = document.createElement("li");
      var strong = document.createElement("strong");
      strong.textContent = item.name;
      li.appendChild(strong);
      li.appendChild(document.createTextNode(" (" + item.distance_m + " m away" +
        (item.status === "pending" ? ", waiting for review" : "") + ")"));
      if (item.change_url) {
        li.appendChild(document.createTextNode(" · "));
        var link = document.createElement("a");
        link.href = item.change_url;
        link.textContent = "Suggest a change to it instead";
        li.appendChild(link);
      }
      list.appendChild(li);
    });
    duplicateBox.appendChild(heading);
    duplicateBox.appendChild(intro);
    duplicateBox.appendChild(list);
  }

  function checkDuplicates() {
    if (!duplicateBox || !nameInput) { return; }
    var point = readInputs();
    var name = nameInput.value.trim();
    if (!point || name.length < 3) { return; }
    var url = form.getAttribute("data-duplicates-url") + "?name=" + encodeURIComponent(name) +
      "&lat=" + point.lat + "&lon=" + point.lng;
    var exclude = form.getAttribute("data-exclude");
    if (exclude) { url += "&exclude=" + encodeURIComponent(exclude); }
    getJSON(url).then(function (result) {
      if (result.ok) { showDuplicates(result.body.duplicates || []); }
    }).catch(function () { /* the server checks again when the form is sent */ });
  }

  function scheduleDuplicateCheck() {
    window.clearTimeout(duplicateTimer);
    duplicateTimer = window.setTimeout(checkDuplicates, 300);
  }

  if (nameInput) { nameInput.addEventListener("change", scheduleDuplicateCheck); }

  // "Who runs it": suggest organisations already on the map as the person types.
  var organisationInput = document.getElementById("organisation_name");
  var organisationList = document.getElementById("organisation-options");
  var organisationTimer = null;
  function suggestOrganisations() {
    var typed = organisationInput.value.trim();
    if (typed.length < 2) { return; }
    getJSON(organisationInput.getAttribute("data-organisations-url") + "?q=" + encodeURIComponent(typed)).then(function (result) {
      if (!result.ok) { return; }
      clear(organisationList);
      (result.body.organisations || []).forEach(function (organisation) {
        var option = document.createElement("option");
        option.value = organisation.name;
        organisationList.appendChild(option);
      });
    }).catch(function () { /* a new name is fine too */ });
  }
  if (organisationInput && organisationList) {
    organisationInput.addEventListener("input", function () {
      window.clearTimeout(organisationTimer);
      organisationTimer = window.setTimeout(suggestOrganisations, 250);
    });
  }

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
