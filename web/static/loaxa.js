/* Loa Xã: the little JavaScript the pages share. No framework, no build step. */
"use strict";
window.loaxa = (function () {
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  /** Call the JSON API; resolves with the body, rejects with {error, code, field}. */
  function api(method, path, body) {
    var opts = { method: method, headers: { "Accept": "application/json", "X-CSRF-Token": csrf() }, credentials: "same-origin" };
    if (body instanceof FormData) { opts.body = body; }
    else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var data; try { data = t ? JSON.parse(t) : {}; } catch (e) { data = { error: "Máy chủ trả lời không hợp lệ (" + r.status + ")." }; }
        if (!r.ok) { data.status = r.status; throw data; }
        return data;
      });
    }, function () { throw { error: "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại." }; });
  }
  function clearErrors(root) {
    (root || document).querySelectorAll(".field-error").forEach(function (e) { e.textContent = ""; });
  }
  /** Show an API error next to its field (or the form-wide slot). */
  function showError(root, err, fallbackField) {
    var field = err.field || fallbackField || "_form";
    var el = (root || document).querySelector('[data-error-for="' + field + '"]') ||
             (root || document).querySelector('[data-error-for="' + (fallbackField || "_form") + '"]') ||
             document.querySelector('[data-error-for="_form"]');
    if (el) { el.textContent = err.error || "Đã có lỗi."; el.scrollIntoView({ block: "center" }); }
    else { alert(err.error || "Đã có lỗi."); }
  }
  function busy(button, on) { if (button) { button.disabled = on; button.setAttribute("aria-busy", on ? "true" : "false"); } }
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-confirm]");
    if (t && !confirm(t.getAttribute("data-confirm"))) { ev.preventDefault(); }
  });
  /* Buttons marked data-toggle show or hide the element of that id (inline forms). */
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-toggle]");
    var el = t && document.getElementById(t.getAttribute("data-toggle"));
    if (!el) { return; }
    el.hidden = !el.hidden;
    document.querySelectorAll('[data-toggle="' + el.id + '"][aria-expanded]').forEach(function (b) {
      b.setAttribute("aria-expanded", el.hidden ? "false" : "true");
    });
    var first = !el.hidden && el.querySelector("input:not([disabled]), select:not([disabled])");
    if (first) { first.focus(); }
  });
  /* Forms marked data-api post their fields as JSON to the API and reload (or go to data-next). */
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-api")) { return; }
    ev.preventDefault();
    var body = {};
    new FormData(form).forEach(function (v, k) {
      if (k === "csrf_token") { return; }
      if (form.querySelector('[name="' + k + '"][data-list]')) { (body[k] = body[k] || []).push(v); } else { body[k] = v; }
    });
    form.querySelectorAll("[data-list]").forEach(function (e) { if (!(e.name in body)) { body[e.name] = []; } });
    form.querySelectorAll("[data-int]").forEach(function (e) { if (e.name in body) { body[e.name] = parseInt(body[e.name], 10); } });
    form.querySelectorAll("[data-bool]").forEach(function (e) { body[e.name] = e.checked; });
    var btn = ev.submitter || form.querySelector("button[type=submit]");
    var path = (btn && btn.getAttribute("data-api-action")) || form.getAttribute("data-api");
    clearErrors(form);
    var need = btn && btn.getAttribute("data-require");
    if (need && !String(body[need] || "").trim()) {
      showError(form, { error: "Vui lòng ghi ý kiến.", field: need }); return;
    }
    busy(btn, true);
    /* Some answers ask the person first (a tone that would cut a programme, a duplicate): confirm, then send again. */
    var CONFIRM_FIELDS = { confirm_cut: "confirm", duplicate: "confirm_duplicate" };
    function send() {
      return api(form.getAttribute("data-method") || "POST", path, body).catch(function (err) {
        var field = CONFIRM_FIELDS[err.code];
        if (field && !body[field]) {
          if (confirm(err.error)) { body[field] = true; return send(); }
          throw { error: "Đã hủy: không có thay đổi nào.", field: "_form" };
        }
        throw err;
      });
    }
    send().then(function () {
      var next = form.getAttribute("data-next");
      if (next) { window.location.href = next; } else { window.location.reload(); }
    }, function (err) { busy(btn, false); showError(form, err); });
  });
  /* A range input marked data-output shows its value in the <output> of that id. */
  document.addEventListener("input", function (ev) {
    var id = ev.target.getAttribute && ev.target.getAttribute("data-output");
    var out = id && document.getElementById(id);
    if (out) { out.value = ev.target.value; }
  });
  /* The banner every page carries: shown while the controller has lost its broker (polled). */
  function pollLink() {
    var banner = document.getElementById("link-banner");
    if (!banner) { return; }
    api("GET", banner.getAttribute("data-poll")).then(function (s) {
      var was = banner.hidden;
      banner.hidden = !!s.connected;
      if (!s.connected && s.since && s.ever_connected) {
        document.getElementById("link-since").textContent = "từ " + new Date(s.since).toLocaleTimeString("vi-VN");
      }
      if (was !== banner.hidden && document.querySelector("[data-link]")) { window.location.reload(); }
    }, function () { /* the web server itself is unreachable: the banner keeps what it knew */ }).then(function () { setTimeout(pollLink, 3000); });
  }
  document.addEventListener("DOMContentLoaded", pollLink);
  return { api: api, clearErrors: clearErrors, showError: showError, busy: busy };
})();
