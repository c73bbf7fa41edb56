/* Devices: the one-time enrollment code (text and QR), and the unit picked for a whole village's volume. */
"use strict";
(function () {
  var L = window.loaxa;
  function show(ticket) {
    var box = document.getElementById("enrollment");
    if (!box) { return; }
    box.querySelector('[data-field="code"]').textContent = ticket.code;
    box.querySelector('[data-field="expires_at"]').textContent = new Date(ticket.expires_at).toLocaleString("vi-VN");
    var qr = box.querySelector('[data-field="qr_svg"]');
    qr.innerHTML = ticket.qr_svg || "";  /* drawn by the server from the code alone */
    box.querySelector('[data-field="qr_missing"]').hidden = !!ticket.qr_svg;
    box.hidden = false; box.scrollIntoView({ block: "center" });
  }
  var btn = document.getElementById("btn-new-code");
  if (btn) {
    btn.addEventListener("click", function (ev) {
      if (!confirm(btn.getAttribute("data-ask"))) { return; }
      var slot = document.querySelector('[data-error-for="enroll"]'); slot.textContent = "";
      L.busy(btn, true);
      L.api("POST", btn.getAttribute("data-enroll-url"), {}).then(function (t) { L.busy(btn, false); show(t); },
        function (err) { L.busy(btn, false); slot.textContent = err.error || "Đã có lỗi."; });
    });
  }
  var add = document.getElementById("add-device-enroll");
  if (add) {
    add.addEventListener("submit", function (ev) {
      ev.preventDefault(); L.clearErrors(add);
      var body = {}; new FormData(add).forEach(function (v, k) { if (k !== "csrf_token") { body[k] = v; } });
      var b = add.querySelector("button[type=submit]"); L.busy(b, true);
      L.api("POST", add.getAttribute("data-enroll-url"), body).then(function (t) {
        L.busy(b, false); show(t);
        var link = document.getElementById("new-device-link");
        if (link) { link.href = "/devices/" + encodeURIComponent(t.device_id); link.hidden = false; }
      }, function (err) { L.busy(b, false); L.showError(add, err); });
    });
  }
  document.querySelectorAll("[data-unit-select]").forEach(function (sel) {
    var form = sel.closest("form");
    sel.addEventListener("change", function () {
      form.setAttribute("data-api", form.getAttribute("data-api-template").replace("{unit}", encodeURIComponent(sel.value)));
    });
  });
})();
