/* The compose page: clean → read → preview → targets and schedule → submit for approval. */
"use strict";
(function () {
  var L = window.loaxa, form = document.getElementById("compose"), source = "";
  function $(id) { return document.getElementById(id); }
  function show(id) { $(id).hidden = false; }
  function renderRemoved(items) {
    var box = $("removed");
    box.textContent = "";
    if (!items.length) { box.textContent = "Không có."; return; }
    items.forEach(function (r) {
      var p = document.createElement("div");
      p.textContent = "• " + r.text + "  (" + r.reason + ")";
      box.appendChild(p);
    });
  }
  function bulletinReady(b) {
    $("bulletin_id").value = b.id;
    var player = $("player");
    player.src = "/ui/media/" + b.media.sha256 + "." + b.media.ext; player.hidden = false;
    $("voice-warning").hidden = b.media.engine !== "espeak";
    $("media-info").textContent = "Thời lượng: " + Math.round(b.media.duration_s) + " giây.";
    show("step-preview"); show("step-schedule");
  }
  $("btn-prepare").addEventListener("click", function () {
    var btn = this, fd = new FormData(), f = $("file").files[0];
    L.clearErrors(form);
    if (f) { fd.append("file", f); } else { fd.append("text", $("text").value); }
    L.busy(btn, true);
    L.api("POST", "/api/compose/prepare", fd).then(function (out) {
      L.busy(btn, false);
      if (!$("title").value) { $("title").value = out.title; }
      $("script").value = out.script;
      $("reading").textContent = out.normalized;
      source = out.text;
      renderRemoved(out.removed);
      show("step-script"); show("step-preview");
      $("step-script").scrollIntoView();
    }, function (err) { L.busy(btn, false); L.showError(form, err, f ? "file" : "text"); });
  });
  $("btn-reread").addEventListener("click", function () {
    var btn = this; L.clearErrors(form); L.busy(btn, true);
    L.api("POST", "/api/compose/reading", { script: $("script").value }).then(function (out) {
      L.busy(btn, false); $("reading").textContent = out.normalized;
    }, function (err) { L.busy(btn, false); L.showError(form, err, "script"); });
  });
  var ticking = null;
  function progress(on) {
    $("render-progress").hidden = !on;
    clearInterval(ticking);
    if (!on) { return; }
    var started = Date.now(), label = $("render-elapsed");
    label.textContent = "0";
    ticking = setInterval(function () { label.textContent = String(Math.round((Date.now() - started) / 1000)); }, 1000);
  }
  $("btn-render").addEventListener("click", function () {
    var btn = this; L.clearErrors(form); L.busy(btn, true); progress(true);
    L.api("POST", "/api/bulletins", { title: $("title").value, text: source || $("script").value, script: $("script").value }).then(function (b) {
      L.busy(btn, false); progress(false); bulletinReady(b);
    }, function (err) {
      L.busy(btn, false); progress(false);
      L.showError(form, err.field === "text" ? { error: err.error, field: "script" } : err, "render");
    });
  });
  $("btn-recording").addEventListener("click", function () {
    var btn = this, f = $("audio").files[0], fd = new FormData();
    L.clearErrors(form);
    if (!f) { L.showError(form, { error: "Chưa chọn tệp ghi âm.", field: "audio" }); return; }
    fd.append("file", f); fd.append("title", $("title").value);
    L.busy(btn, true); show("step-preview"); progress(true);
    L.api("POST", "/api/compose/recording", fd).then(function (b) {
      L.busy(btn, false); bulletinReady(b);
      progress(false); $("btn-render").hidden = true; $("step-schedule").scrollIntoView();
    }, function (err) {
      L.busy(btn, false); progress(false); $("step-preview").hidden = !$("script").value;
      L.showError(form, err, "audio");
    });
  });
  $("recurrence").addEventListener("change", function () { $("end-wrap").hidden = this.value === "once"; });
  $("btn-submit").addEventListener("click", function () {
    var btn = this, targets = [];
    form.querySelectorAll('input[name="targets"]:checked').forEach(function (c) { targets.push(c.value); });
    var body = { bulletin_id: $("bulletin_id").value, targets: targets, recurrence: $("recurrence").value,
      start_date: $("start_date").value, end_date: $("end_date").value, slot_times: $("slot_times").value,
      repeats: $("repeats").value, priority: $("priority").value };
    L.clearErrors(form); L.busy(btn, true);
    L.api("POST", "/api/compose/submit", body).then(function (bc) {
      L.busy(btn, false);
      ["step-source", "step-script", "step-preview", "step-schedule"].forEach(function (id) { $(id).hidden = true; });
      $("done-text").textContent = "Bản tin đã được gửi phê duyệt (mã " + bc.id + "). Chỉ phát sau khi lãnh đạo duyệt.";
      show("done"); $("done").scrollIntoView();
    }, function (err) { L.busy(btn, false); L.showError(form, err, "_form"); });
  });
})();
