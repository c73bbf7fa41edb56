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
  /* A pole enrolled before device keys: ask it (a signed register_key command) to send its key's public half. */
  var keyBtn = document.getElementById("btn-key-request");
  if (keyBtn) {
    keyBtn.addEventListener("click", function () {
      if (!confirm(keyBtn.getAttribute("data-ask"))) { return; }
      var out = document.getElementById("key-result");
      out.classList.remove("ok", "bad"); delete out.dataset.result; out.textContent = "";
      L.busy(keyBtn, true);
      L.api("POST", keyBtn.getAttribute("data-url"), {}).then(function (req) {
        var until = new Date(req.expires_at).toLocaleTimeString("vi-VN");
        out.classList.add("ok"); out.dataset.result = "sent";
        out.textContent = "Đã gửi lệnh yêu cầu khóa tới cụm loa. Máy chủ nhận khóa của cụm loa tới " + until +
          "; khi cụm loa trả lời, tải lại trang sẽ thấy «Có khóa riêng»." +
          (keyBtn.getAttribute("data-online") === "yes" ? "" :
            " Lưu ý: cụm loa đang không trực tuyến; nếu nó không kết nối lại trước " + until + ", hãy yêu cầu lại.");
      }, function (err) {
        out.classList.add("bad"); out.dataset.result = err.code || "error";
        out.textContent = err.error || "Không gửi được yêu cầu.";
      }).then(function () { L.busy(keyBtn, false); });
    });
  }
})();
