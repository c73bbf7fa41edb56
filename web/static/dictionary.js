/* The commune dictionary page: edit fills the form, delete calls the API and reloads. */
"use strict";
(function () {
  var L = window.loaxa;
  document.addEventListener("click", function (ev) {
    var edit = ev.target.closest("[data-edit]");
    if (edit) {
      document.getElementById("dict-key").value = edit.getAttribute("data-edit");
      document.getElementById("dict-reading").value = edit.getAttribute("data-reading");
      document.getElementById("dict-kind").value = edit.getAttribute("data-kind");
      document.getElementById("dict-reading").focus();
      return;
    }
    var del = ev.target.closest("[data-delete]");
    if (del && !ev.defaultPrevented) {
      L.api("DELETE", "/api/dictionary/" + encodeURIComponent(del.getAttribute("data-delete"))).then(function () {
        window.location.reload();
      }, function (err) { L.showError(document, err); });
    }
  });
})();
