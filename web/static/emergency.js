/* Emergency: review → confirm → send, then poll the per-device delivery status. */
"use strict";
(function () {
  var L = window.loaxa, form = document.getElementById("emergency-form");
  var STAGE = { waiting: ["Chờ cụm loa xác nhận", "info"], unreached: ["Không tới được", "bad"],
    delivered: ["Đã nhận", "info"], started: ["Đang phát", "ok"], finished: ["Phát xong", "ok"],
    interrupted: ["Bị ngắt", "warn"], failed: ["Lỗi", "bad"], skipped: ["Bỏ qua", "warn"] };
  var LINK = { online: "Trực tuyến", offline: "Mất kết nối", unknown: "Không rõ", never: "Chưa từng kết nối" };
  function $(id) { return document.getElementById(id); }
  function targets() {
    var out = []; form.querySelectorAll('input[name="targets"]:checked').forEach(function (c) { out.push(c.value); }); return out;
  }
  $("btn-review").addEventListener("click", function () {
    L.clearErrors(form);
    if (!$("em-text").value.trim()) { L.showError(form, { error: "Nội dung khẩn cấp đang trống.", field: "text" }); return; }
    if (!targets().length) { L.showError(form, { error: "Chọn ít nhất một nơi phát.", field: "targets" }); return; }
    $("confirm-text").textContent = "Phát khẩn cấp NGAY tới " + targets().length + " nơi đã chọn? Mọi chương trình đang phát sẽ bị ngắt.";
    $("confirm").hidden = false; $("btn-fire").focus();
  });
  $("btn-back").addEventListener("click", function () { $("confirm").hidden = true; });
  function poll(id) {
    L.api("GET", "/api/emergency/" + id + "/status").then(function (s) {
      var body = $("live-table").querySelector("tbody"); body.textContent = "";
      s.devices.forEach(function (d) {
        var tr = document.createElement("tr"), st = STAGE[d.stage] || ["Không rõ", "info"];
        tr.innerHTML = "<td></td><td></td><td><span class='badge'></span> <small class='hint'></small></td>";
        tr.children[0].textContent = d.name;
        tr.children[1].textContent = d.cut_off_by ? "Không liên lạc được (trạm " + d.cut_off_by + " mất kết nối)"
          : (LINK[d.link] || "Không rõ");
        var b = tr.querySelector(".badge"); b.textContent = st[0]; b.className = "badge " + st[1];
        var note = d.reason_text || "";
        if (d.stage === "waiting") { note = "đã gửi " + d.sends + " lần, đang gửi lại"; }
        if (d.stage === "unreached") { note = "không xác nhận trước khi lệnh hết hạn"; }
        tr.querySelector("small").textContent = note;
        tr.setAttribute("data-device", d.device_id); tr.setAttribute("data-stage", d.stage);
        body.appendChild(tr);
      });
      var summary = s.counts.playing_or_done + "/" + s.counts.total + " cụm loa đã phát hoặc đang phát.";
      if (s.counts.unreached) { summary += " " + s.counts.unreached + " cụm loa không tới được."; }
      $("live-summary").textContent = summary;
      var cut = s.devices.filter(function (d) { return d.cut_off_by; }).map(function (d) { return d.name; });
      $("live-cut-off").hidden = !cut.length;
      $("live-cut-off").textContent = cut.length ? "Không liên lạc được " + cut.length + " cụm loa: " + cut.join(", ") : "";
      if (s.counts.open) { setTimeout(function () { poll(id); }, 2000); }
    }, function () { setTimeout(function () { poll(id); }, 4000); });
  }
  $("btn-fire").addEventListener("click", function () {
    var btn = this; L.busy(btn, true);
    var body = { targets: targets(), text: $("em-text").value, title: $("em-title").value,
      reason: $("em-reason").value, triggered_by: form.querySelector('[name="triggered_by"]').value };
    L.api("POST", "/api/emergency", body).then(function (em) {
      L.busy(btn, false); $("confirm").hidden = true; form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      $("live").hidden = false; $("live").scrollIntoView(); poll(em.broadcast_id);
    }, function (err) { L.busy(btn, false); $("confirm").hidden = true; L.showError(form, err, "_form"); });
  });
})();
