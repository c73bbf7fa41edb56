/* "Phát trực tiếp": record the microphone (getUserMedia + MediaRecorder, WebM/Opus) and send it
   to the controller in 250 ms chunks, in order.  The controller adds the chimes, airs and archives it;
   a closed tab simply stops sending and the controller ends the session with its outro. */
(function () {
  "use strict";
  var form = document.getElementById("live-form");
  if (!form) { return; }
  var startBtn = document.getElementById("live-start");
  var stopBtn = document.getElementById("live-stop");
  var status = document.getElementById("live-status");
  var errorBox = document.getElementById("live-error");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var session = null, recorder = null, stream = null, chain = Promise.resolve(), chunks = 0;

  function headers(type) {
    var h = { "Content-Type": type };
    if (csrf) { h["X-CSRF-Token"] = csrf.content; }
    return h;
  }
  function say(text) { status.textContent = text; }
  function fail(text, field) {
    var box = field ? form.querySelector('[data-error-for="' + field + '"]') : null;
    (box || errorBox).textContent = text;
  }
  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (e) { e.textContent = ""; });
  }
  function post(url, body, type) {
    return fetch(url, { method: "POST", headers: headers(type), body: body, credentials: "same-origin" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) { var e = new Error(data.error || "Lỗi " + r.status); e.field = data.field; throw e; }
          return data;
        });
      });
  }
  function request() {
    var targets = Array.prototype.map.call(form.querySelectorAll('input[name="targets"]:checked'),
                                           function (c) { return c.value; });
    var body = { targets: targets, priority: form.priority.value };
    var by = form.override_by.value.trim(), reason = form.override_reason.value.trim();
    if (by || reason) { body.override = { by: by, reason: reason }; }
    return body;
  }
  function send(blob) {
    if (!session || !blob.size) { return; }
    chain = chain.then(function () {
      return post("/api/live/" + session.id + "/audio", blob, "audio/webm").then(function () {
        chunks += 1;
        say("Đang phát trực tiếp… (" + Math.round(chunks / 4) + " giây)");
      });
    }).catch(function (e) { fail(e.message); stopLocal(); });
  }
  function stopLocal() {
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    startBtn.disabled = false;
    stopBtn.disabled = true;
  }

  startBtn.addEventListener("click", function () {
    clearErrors();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
      fail("Trình duyệt này không thu được âm thanh từ micrô; hãy dùng Chrome, Firefox hoặc Safari mới.");
      return;
    }
    startBtn.disabled = true;
    say("Đang xin quyền dùng micrô…");
    navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } })
      .then(function (s) {
        stream = s;
        return post("/api/live", JSON.stringify(request()), "application/json");
      }, function () {
        throw new Error("Trình duyệt không cho dùng micrô. Hãy cho phép micrô cho trang này rồi thử lại.");
      })
      .then(function (created) {
        session = created;
        var type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
        recorder = new MediaRecorder(stream, type ? { mimeType: type, audioBitsPerSecond: 32000 } : {});
        recorder.addEventListener("dataavailable", function (ev) { send(ev.data); });
        recorder.addEventListener("stop", function () {
          chain.then(function () { return post("/api/live/" + session.id + "/end", "{}", "application/json"); })
            .then(function () { say("Đã kết thúc phát trực tiếp."); }, function (e) { fail(e.message); });
        });
        say("Chuông mở đầu…");
        window.setTimeout(function () {  // speak after the intro chime: nothing said is cut off or delayed by it
          recorder.start(250);
          stopBtn.disabled = false;
          form.dataset.session = session.id;
          say("Mời nói. Đang phát trực tiếp…");
        }, 900);
      })
      .catch(function (e) { fail(e.message, e.field); say("Chưa phát."); stopLocal(); });
  });
  stopBtn.addEventListener("click", function () { say("Đang kết thúc…"); stopLocal(); });
}());
