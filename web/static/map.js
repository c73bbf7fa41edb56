/* The map (Leaflet, vendored): units' boundaries and clusters coloured by status, from GET /api/map.
   On the map page a cluster opens its page; on the emergency page a unit's area selects it as a target. */
"use strict";
(function () {
  var VIETNAM = [16.0, 106.0];
  function unitStyle(selected) {
    return { color: selected ? "#c62828" : "#0b5cad", weight: selected ? 3 : 1.5,
      fillColor: selected ? "#f8d7da" : "#dbe7f5", fillOpacity: selected ? 0.55 : 0.35 };
  }
  function targetBox(unitId) { return document.querySelector('input[name="targets"][value="' + unitId + '"]'); }
  function draw(el) {
    var select = el.getAttribute("data-mode") === "select";
    window.loaxa.api("GET", el.getAttribute("data-api")).then(function (data) {
      var map = L.map(el, { maxZoom: data.tiles.max_zoom || 18, attributionControl: !!data.tiles.url });
      map.setView(VIETNAM, 5);  // layers are drawn only once the map has a view
      if (data.tiles.url) {
        L.tileLayer(data.tiles.url, { maxZoom: data.tiles.max_zoom, attribution: data.tiles.attribution || "" }).addTo(map);
      } else {
        el.classList.add("no-tiles");
      }
      var bounds = L.latLngBounds([]), areas = {};
      data.features.filter(function (f) { return f.properties.layer === "unit"; }).forEach(function (f) {
        var p = f.properties, layer;
        if (f.geometry.type === "Point") {
          layer = L.circle([f.geometry.coordinates[1], f.geometry.coordinates[0]],
            Object.assign({ radius: (p.radius_km || 1) * 1000, className: "unit-area" }, unitStyle(false)));
        } else {
          layer = L.geoJSON(f, { style: function () { return Object.assign({ className: "unit-area" }, unitStyle(false)); } });
        }
        layer.addTo(map);
        layer.bindTooltip(p.name + " · " + p.devices + " cụm loa" + (p.offline ? ", " + p.offline + " mất kết nối" : ""), { sticky: true });
        bounds.extend(layer.getBounds());
        areas[p.unit_id] = layer;
        (layer.getLayers ? layer.getLayers() : [layer]).forEach(function (l) {
          var path = l.getElement && l.getElement();
          if (path) { path.setAttribute("data-unit", p.unit_id); }
        });
        if (select) {
          layer.on("click", function () {
            var box = targetBox(p.unit_id);
            if (!box) { return; }
            box.checked = !box.checked;
            box.dispatchEvent(new Event("change", { bubbles: true }));
          });
        }
      });
      function restyle() {
        Object.keys(areas).forEach(function (id) {
          var box = targetBox(id), on = !!(box && box.checked);
          areas[id].setStyle(unitStyle(on));
          (areas[id].getLayers ? areas[id].getLayers() : [areas[id]]).forEach(function (l) {
            var path = l.getElement && l.getElement();
            if (path) { path.classList.toggle("selected", on); }
          });
        });
      }
      if (select) { document.addEventListener("change", function (ev) { if (ev.target.name === "targets") { restyle(); } }); }
      var unplaced = 0;
      data.features.filter(function (f) { return f.properties.layer === "device"; }).forEach(function (f) {
        var p = f.properties;
        if (!f.geometry) { unplaced += 1; return; }
        var at = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        var marker = L.circleMarker(at, { radius: 9, color: "#ffffff", weight: 2, fillColor: p.colour, fillOpacity: 1,
          className: "device-marker status-" + p.status, interactive: !select, bubblingMouseEvents: select }).addTo(map);
        marker.getElement().setAttribute("data-device", p.device_id);
        marker.bindTooltip(p.name + " · " + p.status_vi + (p.playing ? " · đang phát: " + p.playing : ""));
        if (!select) { marker.on("click", function () { window.location.href = p.link; }); }
        bounds.extend(at);
      });
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15, animate: false }); }
      var note = document.getElementById("map-note");
      if (note && unplaced) { note.hidden = false; note.textContent = unplaced + " cụm loa chưa có toạ độ và đơn vị của chúng chưa có địa giới, nên chưa vẽ được."; }
      el.setAttribute("data-ready", "true");
    }, function (err) {
      el.textContent = err.error || "Không tải được bản đồ.";
      el.setAttribute("data-ready", "error");
    });
  }
  document.querySelectorAll(".map[data-api]").forEach(draw);
  var locate = document.getElementById("locate-form"), pick = document.getElementById("locate-device");
  if (locate && pick) {
    pick.addEventListener("change", function () {
      locate.setAttribute("data-api", pick.getAttribute("data-action-template").replace("{id}", encodeURIComponent(pick.value)));
    });
  }
})();
