/* "Nguồn tiếp sóng": test a source (the controller listens for ten seconds), then play what it heard.
   The audio comes from the controller (/api/relay-previews/…), never from the source itself:
   the page's policy admits no foreign media, and the source may not speak to browsers at all. */
"use strict";
(function () {
  function kbps(r) { return r.bitrate_kbps ? Math.round(r.bitrate_kbps) + " kb/s" : "tốc độ bit không rõ"; }

  function show(box, result) {
    var out = box.querySelector(".probe-result");
    var audio = box.querySelector(".probe-audio");
    out.classList.remove("ok", "bad");
    out.classList.add(result.alive ? "ok" : "bad");
    out.dataset.reason = result.reason;
    out.textContent = result.alive
      ? "Nguồn đang phát. Định dạng: " + result.codec + ", " + kbps(result) + "." + (result.silent ? " Cảnh báo: nguồn đang phát im lặng." : "") + " Đang phát lại đoạn vừa nghe."
      : result.message_vi;
    if (result.alive && result.preview_url) {
      audio.hidden = false;
      audio.src = result.preview_url;
      audio.play().catch(function () { /* the browser wants a tap first: the controls are there */ });
    } else {
      audio.hidden = true;
      audio.removeAttribute("src");
    }
  }

  function failed(box, err) {
    var out = box.querySelector(".probe-result");
    out.classList.remove("ok");
    out.classList.add("bad");
    out.dataset.reason = err.code || "error";
    out.textContent = err.error || "Không thử được nguồn này.";
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-probe]");
    if (!button) { return; }
    var box = button.closest("[data-source]") || button.closest("form");
    var form = button.closest("form");
    var body;
    var path = button.getAttribute("data-probe");
    if (form) {
      loaxa.clearErrors(form);
      body = { url: form.elements.url.value, kind: form.elements.kind.value };
      var shown = form.elements.url.dataset.shown;
      if (button.hasAttribute("data-probe-saved") && body.url === shown && body.kind === form.elements.url.dataset.kind) {
        path = button.getAttribute("data-probe-saved");  /* unchanged: the saved URL, its hidden password included */
        body = undefined;
      }
    }
    var out = box.querySelector(".probe-result");
    out.classList.remove("ok", "bad");
    delete out.dataset.reason;
    out.textContent = "Đang nghe thử nguồn trong 10 giây…";
    loaxa.busy(button, true);
    loaxa.api("POST", path, body).then(function (result) {
      show(box, result);
    }, function (err) {
      if (form && err.field) { loaxa.showError(form, err); out.textContent = ""; delete out.dataset.reason; return; }
      failed(box, err);
    }).then(function () { loaxa.busy(button, false); });
  });

  /* The source's page: upload a short recorded notice; the controller masters it and sets it as the fallback. */
  var noticeForm = document.getElementById("notice-form");
  if (noticeForm) {
    noticeForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      loaxa.clearErrors(noticeForm);
      var out = document.getElementById("notice-result");
      out.classList.remove("ok", "bad");
      out.textContent = "";
      var file = noticeForm.elements.file.files[0];
      if (!file) { loaxa.showError(noticeForm, { error: "Chưa chọn tệp ghi âm thông báo.", field: "notice" }); return; }
      var data = new FormData();
      data.append("file", file);
      var button = noticeForm.querySelector("button[type=submit]");
      loaxa.busy(button, true);
      out.textContent = "Đang tải lên và chuẩn hóa âm lượng…";
      loaxa.api("POST", noticeForm.getAttribute("data-upload"), data).then(function (src) {
        var select = document.getElementById("source-notice");
        var sha = src.fallback_media_sha256;
        var option = select.querySelector('option[value="' + sha + '"]');
        if (!option) {
          option = document.createElement("option");
          option.value = sha;
          option.textContent = "Thông báo vừa tải lên: " + file.name;
          select.appendChild(option);
        }
        select.value = sha;
        out.classList.add("ok");
        out.dataset.sha = sha;
        out.textContent = "Đã lưu «" + file.name + "» làm thông báo dự phòng của nguồn này.";
      }, function (err) {
        out.textContent = "";
        loaxa.showError(noticeForm, err, "notice");
      }).then(function () { loaxa.busy(button, false); });
    });
  }
})();
