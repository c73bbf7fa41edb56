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
  /* -- words to look at: unknown all-caps tokens and foreign words, each with a one-click fix -- */
  function fixRow(f) {
    var row = document.createElement("div"), written = document.createElement("span"),
        input = document.createElement("input"), save = document.createElement("button");
    row.className = "word-fix"; row.setAttribute("data-word", f.word);
    written.className = "written"; written.textContent = f.word;
    input.type = "text"; input.value = f.spoken; input.maxLength = 200;
    input.setAttribute("aria-label", "Cách đọc của " + f.word);
    save.type = "button"; save.className = "secondary"; save.textContent = "Lưu vào từ điển của xã";
    save.addEventListener("click", function () {
      L.busy(save, true);
      L.api("POST", "/api/dictionary", { key: f.word, reading: input.value, kind: f.kind }).then(function () {
        L.busy(save, false); review();
      }, function (err) { L.busy(save, false); L.showError(form, err, "script"); });
    });
    row.appendChild(written); row.appendChild(input); row.appendChild(save);
    return row;
  }
  function renderFindings(box, list, items) {
    $(list).textContent = "";
    items.forEach(function (f) { $(list).appendChild(fixRow(f)); });
    $(box).hidden = !items.length;
  }
  function review() {
    return L.api("POST", "/api/compose/review", { script: $("script").value }).then(function (out) {
      $("reading").textContent = out.normalized;
      renderFindings("unknown-box", "unknown-words", out.unknown);
      renderFindings("foreign-box", "foreign-words", out.foreign);
    }, function (err) { L.showError(form, err, "script"); });
  }
  /* -- an upload read on the server: upload progress, then the server's OCR stage -- */
  var ocrNeedsAck = false;
  function intakeBar(fraction, message) {
    var box = $("intake-bar"), pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
    box.firstElementChild.style.width = pct + "%";
    box.setAttribute("aria-valuenow", String(pct));
    if (message) { $("intake-message").textContent = message; }
  }
  function upload(file) {
    var id = newProgressId(), fd = new FormData(), token = {};
    fd.append("file", file); fd.append("progress_id", id);
    $("intake-progress").hidden = false; intakeBar(0, "Đang tải tệp lên…");
    watching = token;
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest(), sent = false;
      xhr.open("POST", "/api/compose/intake");
      xhr.setRequestHeader("Accept", "application/json");
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (meta) { xhr.setRequestHeader("X-CSRF-Token", meta.content); }
      /* Upload is the first third of the bar, reading on the server the rest. */
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { intakeBar(e.loaded / e.total / 3, "Đang tải tệp lên…"); } };
      xhr.upload.onload = function () {
        sent = true; intakeBar(1 / 3, "Đã tải lên, máy đang đọc tệp…");
        (function poll() {
          if (watching !== token) { return; }
          L.api("GET", "/api/render-progress/" + id).then(function (p) {
            if (watching === token && p.stage === "reading") { intakeBar(1 / 3 + p.fraction * 2 / 3, p.message); }
          }, function () { return null; }).then(function () { if (watching === token) { setTimeout(poll, 400); } });
        })();
      };
      xhr.onload = function () {
        watching = null;
        var data; try { data = JSON.parse(xhr.responseText || "{}"); } catch (e) { data = { error: "Máy chủ trả lời không hợp lệ (" + xhr.status + ")." }; }
        if (xhr.status >= 200 && xhr.status < 300) { intakeBar(1, "Đã đọc xong tệp."); resolve(data); }
        else { $("intake-progress").hidden = true; data.field = data.field || "file"; reject(data); }
      };
      xhr.onerror = function () {
        watching = null; $("intake-progress").hidden = true;
        reject({ error: sent ? "Mất kết nối khi máy chủ đang đọc tệp." : "Không tải được tệp lên. Kiểm tra mạng rồi thử lại.", field: "file" });
      };
      xhr.send(fd);
    });
  }
  function showIntake(out) {
    var figure = $("page-images"), text = $("ocr-text"), pos = 0;
    figure.textContent = ""; text.textContent = "";
    out.images.forEach(function (im) {
      var img = document.createElement("img");
      img.src = im.src; img.alt = "Trang " + im.page + " của bản gốc"; img.width = im.width; img.height = im.height;
      figure.appendChild(img);
    });
    figure.hidden = !out.images.length;
    out.low_confidence.forEach(function (w) {
      if (w.start < pos) { return; }
      text.appendChild(document.createTextNode(out.text.slice(pos, w.start)));
      var mark = document.createElement("mark");
      mark.className = "low-confidence"; mark.textContent = out.text.slice(w.start, w.end);
      mark.title = "Máy không chắc chữ này (độ tin cậy " + w.confidence + "%)";
      text.appendChild(mark); pos = w.end;
    });
    text.appendChild(document.createTextNode(out.text.slice(pos)));
    $("ocr-summary").textContent = out.ocr ? "(nhận dạng từ ảnh, " + out.pages + " trang)" : "(" + out.pages + " trang)";
    $("intake-notices").hidden = !out.notices.length; $("intake-notices").textContent = out.notices.join(" ");
    ocrNeedsAck = out.low_confidence.length > 0;
    $("ocr-ack").checked = false;
    $("ocr-check").hidden = !ocrNeedsAck;
    $("ocr-low").textContent = ocrNeedsAck ? out.low_confidence.length + " từ được đánh dấu vàng là chữ máy đọc không chắc chắn. Hãy so với ảnh bên cạnh trước khi nghe thử." : "";
    $("btn-render").disabled = ocrNeedsAck;
    show("step-intake");
  }
  $("ocr-ack").addEventListener("change", function () { $("btn-render").disabled = ocrNeedsAck && !this.checked; });
  function prepareText(text, btn, field) {
    var fd = new FormData();
    fd.append("text", text);
    return L.api("POST", "/api/compose/prepare", fd).then(function (out) {
      L.busy(btn, false);
      if (!$("title").value) { $("title").value = out.title; }
      $("script").value = out.script;
      $("reading").textContent = out.normalized;
      source = out.text;
      renderRemoved(out.removed);
      show("step-script"); show("step-preview");
      review();
      ($("step-intake").hidden ? $("step-script") : $("step-intake")).scrollIntoView();
    }, function (err) { L.busy(btn, false); L.showError(form, err, field); });
  }
  function chosenFile() { return $("camera").files[0] || $("file").files[0]; }
  ["file", "camera"].forEach(function (id) {
    $(id).addEventListener("change", function () { if (this.files[0]) { $(id === "file" ? "camera" : "file").value = ""; } });
  });
  $("btn-prepare").addEventListener("click", function () {
    var btn = this, f = chosenFile();
    L.clearErrors(form);
    L.busy(btn, true);
    if (!f) { $("step-intake").hidden = true; ocrNeedsAck = false; $("btn-render").disabled = false; prepareText($("text").value, btn, "text"); return; }
    upload(f).then(function (out) {
      showIntake(out);
      $("text").value = out.text;
      prepareText(out.text, btn, "file");
    }, function (err) { L.busy(btn, false); L.showError(form, err, "file"); });
  });
  $("btn-reread").addEventListener("click", function () {
    var btn = this; L.clearErrors(form); L.busy(btn, true);
    review().then(function () { L.busy(btn, false); }, function () { L.busy(btn, false); });
  });
  var ticking = null, watching = null, WAITING = "Đang tạo âm thanh, vui lòng chờ…";
  function newProgressId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  /** The bar: a fraction 0..1 fills it; null makes it the sliding "working" bar. */
  function bar(fraction) {
    var box = $("render-bar"), fill = box.firstElementChild;
    box.classList.toggle("determinate", fraction !== null);
    fill.style.width = fraction === null ? "" : Math.round(fraction * 100) + "%";
    if (fraction === null) { box.removeAttribute("aria-valuenow"); }
    else { box.setAttribute("aria-valuenow", String(Math.round(fraction * 100))); }
  }
  function showStep(p) {
    $("render-message").textContent = p.message;
    bar(p.stage === "preparing" || p.stage === "normalizing" || p.stage === "fallback" ? null : p.fraction);
  }
  /** Poll the render's progress every ~500 ms until progress(false); a 404 before the render starts is normal. */
  function watch(id) {
    var token = {};
    watching = token;
    (function poll() {
      L.api("GET", "/api/render-progress/" + id).then(function (p) {
        if (watching === token) { showStep(p); }
      }, function () { return null; }).then(function () {
        if (watching === token) { setTimeout(poll, 500); }
      });
    })();
  }
  function progress(on, id) {
    $("render-progress").hidden = !on;
    clearInterval(ticking);
    watching = null;
    if (!on) { return; }
    var started = Date.now(), label = $("render-elapsed");
    label.textContent = "0";
    $("render-message").textContent = WAITING;
    bar(null);
    ticking = setInterval(function () { label.textContent = String(Math.round((Date.now() - started) / 1000)); }, 1000);
    if (id) { watch(id); }
  }
  $("btn-render").addEventListener("click", function () {
    var btn = this, id = newProgressId();
    L.clearErrors(form);
    if (ocrNeedsAck && !$("ocr-ack").checked) {
      L.showError(form, { error: "Hãy đối chiếu các từ được đánh dấu với ảnh gốc và đánh dấu ô xác nhận trước khi nghe thử.", field: "ocr_ack" });
      return;
    }
    L.busy(btn, true); progress(true, id);
    L.api("POST", "/api/bulletins", { title: $("title").value, text: source || $("script").value, script: $("script").value,
      progress_id: id, ocr_ack: ocrNeedsAck ? $("ocr-ack").checked : false }).then(function (b) {
      L.busy(btn, false); progress(false); bulletinReady(b);
    }, function (err) {
      L.busy(btn, false); progress(false);
      L.showError(form, err.field === "text" ? { error: err.error, field: "script" } : err, "render");
    });
  });
  $("btn-recording").addEventListener("click", function () {
    var btn = this, f = $("audio").files[0], fd = new FormData(), id = newProgressId();
    L.clearErrors(form);
    if (!f) { L.showError(form, { error: "Chưa chọn tệp ghi âm.", field: "audio" }); return; }
    fd.append("file", f); fd.append("title", $("title").value); fd.append("progress_id", id);
    L.busy(btn, true); show("step-preview"); progress(true, id);
    L.api("POST", "/api/compose/recording", fd).then(function (b) {
      L.busy(btn, false); bulletinReady(b);
      progress(false); $("btn-render").hidden = true; $("step-schedule").scrollIntoView();
    }, function (err) {
      L.busy(btn, false); progress(false); $("step-preview").hidden = !$("script").value;
      L.showError(form, err, "audio");
    });
  });
  $("recurrence").addEventListener("change", function () { $("end-wrap").hidden = this.value === "once"; });
  function scheduleBody() {
    var targets = [];
    form.querySelectorAll('input[name="targets"]:checked').forEach(function (c) { targets.push(c.value); });
    return { bulletin_id: $("bulletin_id").value, targets: targets, recurrence: $("recurrence").value,
      start_date: $("start_date").value, end_date: $("end_date").value, slot_times: $("slot_times").value,
      repeats: $("repeats").value, priority: $("priority").value };
  }
  /* The facts the leader will see: length in minutes (flagged past the limit), how many times and when. */
  function scheduleFacts() {
    var body = scheduleBody();
    if (!body.bulletin_id || !body.slot_times) { $("schedule-facts").hidden = true; return; }
    L.api("POST", "/api/compose/schedule-facts", body).then(function (f) {
      $("facts-length").textContent = f.length.minutes + " phút";
      $("facts-over").hidden = !f.length.over_limit;
      $("facts-over").textContent = f.length.over_limit ? "Bản tin dài quá " + f.length.limit_minutes + " phút: hãy rút gọn hoặc chia thành nhiều bản tin." : "";
      $("facts-count").textContent = f.occurrences.count + " buổi";
      $("facts-dates").textContent = f.occurrences.dates.join(", ") + (f.occurrences.more ? " và " + f.occurrences.more + " buổi nữa" : "");
      $("facts-error").textContent = "";
      $("schedule-facts").hidden = false;
    }, function (err) { $("schedule-facts").hidden = false; $("facts-error").textContent = err.error || ""; });
  }
  ["recurrence", "start_date", "end_date", "slot_times", "repeats"].forEach(function (id) {
    $(id).addEventListener("change", scheduleFacts);
  });
  var LIFTABLE = ["quiet_hours", "cap_programmes_per_day", "cap_minutes_per_programme", "weekend"], lifts = [];
  /* A guardrail refused the slot: a person with the right may send it again with a recorded reason. */
  function offerOverride(err) {
    lifts = [];
    (err.details || []).forEach(function (r) { if (LIFTABLE.indexOf(r.code) >= 0 && lifts.indexOf(r.code) < 0) { lifts.push(r.code); } });
    var box = $("override-box"), may = box.getAttribute("data-can-override") === "yes";
    box.hidden = !lifts.length;
    $("override-form").hidden = !may; $("override-ask").hidden = may;
  }
  function submitSchedule(btn, extra) {
    var body = scheduleBody();
    Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
    L.clearErrors(form); L.busy(btn, true);
    function send() {
      return L.api("POST", "/api/compose/submit", body).catch(function (err) {
        if (err.code === "duplicate" && !body.confirm_duplicate && confirm(err.error)) { body.confirm_duplicate = true; return send(); }
        throw err;
      });
    }
    return send().then(function (bc) { $("override-box").hidden = true; return bc; }, function (err) {
      if (LIFTABLE.indexOf(err.code) >= 0 && !body.override) { offerOverride(err); }
      throw err;
    });
  }
  $("btn-override").addEventListener("click", function () {
    var btn = this;
    submitSchedule(btn, { override: { reason: $("override_reason").value, lifts: lifts } }).then(done, function (err) {
      L.busy(btn, false); L.showError(form, err, "override");
    });
  });
  function done(bc) {
    ["step-source", "step-script", "step-preview", "step-schedule"].forEach(function (id) { $(id).hidden = true; });
    $("done-text").textContent = "Bản tin đã được gửi phê duyệt (mã " + bc.id + "). Chỉ phát sau khi lãnh đạo duyệt.";
    show("done"); $("done").scrollIntoView();
  }
  $("btn-submit").addEventListener("click", function () {
    var btn = this;
    submitSchedule(btn).then(function (bc) {
      L.busy(btn, false);
      ["step-source", "step-script", "step-preview", "step-schedule"].forEach(function (id) { $(id).hidden = true; });
      $("done-text").textContent = "Bản tin đã được gửi phê duyệt (mã " + bc.id + "). Chỉ phát sau khi lãnh đạo duyệt.";
      show("done"); $("done").scrollIntoView();
    }, function (err) { L.busy(btn, false); L.showError(form, err, "_form"); });
  });
})();
