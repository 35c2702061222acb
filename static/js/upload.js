// Bulk upload: refuse a file that is too large before sending it, show the upload's progress,
// and run the commit in the background while showing how far it has got. Without this script
// the forms post as usual and the server does the same work within the request.
(function () {
  "use strict";

  function showError(form, message) {
    var box = document.getElementById("error-summary");
    if (!box) {
      box = document.createElement("div");
      box.className = "error-summary";
      box.id = "error-summary";
      box.setAttribute("role", "alert");
      box.tabIndex = -1;
      var heading = document.createElement("h2");
      heading.textContent = "There is a problem";
      box.appendChild(heading);
      box.appendChild(document.createElement("p"));
      form.parentNode.insertBefore(box, form);
    }
    box.querySelector("p").textContent = message;
    box.focus();
  }

  function errorMessage(xhrText, fallback) {
    try {
      return JSON.parse(xhrText).error.message || fallback;
    } catch (e) {
      return fallback;
    }
  }

  var uploadForm = document.getElementById("upload-form");
  if (uploadForm) {
    uploadForm.addEventListener("submit", function (event) {
      var input = uploadForm.querySelector("input[type=file]");
      var file = input.files && input.files[0];
      if (!file) {
        return;
      }
      var max = parseInt(uploadForm.dataset.maxBytes, 10);
      if (file.size > max) {
        event.preventDefault();
        showError(uploadForm, "The file is too large (" + (file.size / 1048576).toFixed(1) + " MB). The largest file you can upload is " +
          uploadForm.dataset.maxSize + ": split it into smaller files, or remove columns you do not need, and upload each part.");
        return;
      }
      event.preventDefault();
      var box = document.getElementById("upload-progress");
      var bar = document.getElementById("upload-bar");
      var status = document.getElementById("upload-status");
      box.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", uploadForm.action || window.location.href);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round((100 * e.loaded) / e.total);
          bar.value = pct;
          bar.textContent = pct + "%";
          status.textContent = pct < 100 ? pct + "% sent" : "Reading the file…";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 201) {
          window.location.href = JSON.parse(xhr.responseText).next;
        } else {
          box.hidden = true;
          showError(uploadForm, errorMessage(xhr.responseText, "The file could not be uploaded."));
        }
      });
      xhr.addEventListener("error", function () {
        box.hidden = true;
        showError(uploadForm, "The file could not be sent. Check your connection and try again.");
      });
      xhr.send(new FormData(uploadForm));
    });
  }

  var commitForm = document.getElementById("commit-form");
  if (commitForm) {
    commitForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = commitForm.querySelector("button[type=submit]");
      var box = document.getElementById("commit-progress");
      var bar = document.getElementById("commit-bar");
      var status = document.getElementById("commit-status");
      button.disabled = true;
      box.hidden = false;
      status.textContent = "Starting…";
      fetch(commitForm.action, {
        method: "POST",
        body: new FormData(commitForm),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      }).then(function (response) {
        return response.text().then(function (body) {
          if (!response.ok) {
            throw new Error(errorMessage(body, "The rows could not be added."));
          }
          return JSON.parse(body);
        });
      }).then(function (started) {
        function poll() {
          fetch(started.progress, { headers: { Accept: "application/json" }, credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (p) {
              var pct = p.total ? Math.round((100 * p.done) / p.total) : 0;
              bar.value = pct;
              bar.textContent = pct + "%";
              status.textContent = p.done + " of " + p.total + " rows";
              if (p.state === "committed") {
                status.textContent = "Done";
                window.location.href = p.report;
              } else if (p.state === "failed") {
                window.location.reload();
              } else {
                window.setTimeout(poll, 500);
              }
            });
        }
        poll();
      }).catch(function (error) {
        box.hidden = true;
        button.disabled = false;
        showError(commitForm, error.message);
      });
    });
  }
})();
