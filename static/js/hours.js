/* Opening hours "as you would say it": what the server reads them as, shown while they are typed.
 *
 * Progressive enhancement: without this script "Read these hours" (or sending the form) shows the
 * reading. With it, a pause in typing asks the server's reader (the one the button uses; there is
 * no second reader here) and the answer goes into a polite live region under the box, so a screen
 * reader says it too. Answers to older text are dropped. Text goes into the page with textContent.
 */
(function () {
  "use strict";

  var box = document.querySelector(".hours-said[data-hours-url]");
  var input = document.getElementById("hours_text");
  var live = document.getElementById("hours-live");
  if (!box || !input || !live || !window.fetch) { return; }
  var url = box.getAttribute("data-hours-url");
  var timer = null;
  var asked = 0;
  var lastText = null;

  function show(message, unread) {
    live.textContent = message;
    live.className = "hours-live" + (unread ? " hours-live-unread" : "");
  }

  function said(body) {
    if (!body.reading) {
      return ["We cannot read that as opening hours yet: say the days and the times, like \u201cMon-Fri 9-5\u201d, " +
              "\u201cTuesdays 10am - 12pm\u201d or \u201cclosed Mondays\u201d.", true];
    }
    return ["We read this as: " + body.reading + ". Press \u201cRead these hours\u201d to fill in the days below.",
            false];
  }

  function read() {
    var text = input.value.trim();
    if (text === lastText) { return; }
    lastText = text;
    var mine = ++asked;
    if (!text) { show("", false); return; }
    fetch(url + "?text=" + encodeURIComponent(text), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (result) {
        if (mine !== asked) { return; }  // the text has changed since
        if (result.status === 200) {
          var answer = said(result.body);
          show(answer[0], answer[1]);
        } else if (result.status === 400 && result.body.error) {
          show(result.body.error.message, true);
        } else {
          show("", false);  // busy or limited: the button still reads them
        }
      })
      .catch(function () { if (mine === asked) { show("", false); } });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(read, 400);
  });
  if (input.value.trim()) { read(); }
})();
