/* The built-in dashboard of tsur: a map (municipal polygons + H3 tension cells, no tile server),
   the newest incidents (polled every 10 s), the SLA table and the alerts feed of a region-day.
   Data: the JSON endpoints under /api (api/dashboard.py). Text from posts is always set with
   textContent, never as HTML. */
(function () {
  "use strict";

  var POLL_MS = 10000;
  var MAP_REFRESH_MS = 60000;
  var KEY_STORAGE = "tsur-api-key";
  var STATUS_RU = {
    new: "новое", assigned: "назначено", answered: "дан ответ", in_progress: "в работе",
    resolved: "решено", rejected: "отклонено", reopened: "открыто повторно"
  };
  var COLORS = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];
  var BREAKS = [1, 1.5, 2, 3, 4];  // tension thresholds between the colours

  var state = { meta: null, region: null, day: null, sector: "all", resolution: 7, rendered: false, seen: {} };
  var map, areasLayer, cellsLayer, markersLayer, pollTimer, mapTimer;
  var MARKERS_BELOW_ZOOM = 10;   // H3 cells are a few pixels at region scale: a marker on each below this zoom
  var el = function (id) { return document.getElementById(id); };
  var msk = new Intl.DateTimeFormat("ru-RU", { timeZone: "Europe/Moscow", hour: "2-digit", minute: "2-digit" });
  var mskDate = new Intl.DateTimeFormat("ru-RU", { timeZone: "Europe/Moscow", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  var longDate = new Intl.DateTimeFormat("ru-RU", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

  function headers() {
    var key = window.sessionStorage.getItem(KEY_STORAGE);
    return key ? { "X-API-Key": key } : {};
  }

  function getJSON(path, params) {
    var url = path + (params ? "?" + new URLSearchParams(params).toString() : "");
    return fetch(url, { headers: headers() }).then(function (r) {
      if (r.status === 401 && state.meta && state.meta.read_key_required) {
        var key = window.prompt("Для просмотра нужен API-ключ (чтение). Введите ключ:");
        if (key) {
          window.sessionStorage.setItem(KEY_STORAGE, key.trim());
          return getJSON(path, params);
        }
      }
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          throw new Error((body && body.detail) || ("HTTP " + r.status));
        });
      }
      return r.json();
    });
  }

  function setStatus(text, isError) {
    var s = el("status");
    s.textContent = text;
    s.className = "status" + (isError ? " error" : "");
  }

  function node(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function option(select, value, label) {
    var o = node("option", { value: value }, label);
    select.appendChild(o);
    return o;
  }

  function color(tension) {
    var i = 0;
    while (i < BREAKS.length && tension >= BREAKS[i]) i++;
    return COLORS[i];
  }

  function dayLabel(iso) {
    var p = iso.split("-");
    return longDate.format(new Date(Date.UTC(+p[0], +p[1] - 1, +p[2])));
  }

  function num(x, digits) { return x.toFixed(digits).replace(".", ","); }

  function cellTooltip(p) {
    var div = node("div");
    div.appendChild(node("strong", {}, p.settlement || p.municipality || "ячейка " + p.h3));
    div.appendChild(node("div", {}, p.municipality || ""));
    div.appendChild(node("div", {}, "Инцидентов за день: " + p.incidents));
    div.appendChild(node("div", {}, "Фон (в среднем за день, 28 дней): " + num(p.baseline, 2)));
    div.appendChild(node("div", {}, "Индекс напряжённости: " + num(p.tension, 2)));
    return div;
  }

  function duration(seconds) {
    var s = Math.abs(seconds);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + " д " + h + " ч";
    if (h > 0) return h + " ч " + m + " мин";
    return m + " мин";
  }

  /* ------------------------------------------------------------------ map */
  function initMap() {
    map = L.map("map", { zoomControl: true, attributionControl: false, preferCanvas: false, zoomSnap: 0.25 });
    map.setView([45.0, 39.0], 7);
    areasLayer = L.geoJSON(null, {
      style: { className: "area", color: "#8a96a3", weight: 1, fillColor: "#fbfbf8", fillOpacity: 1 },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(f.properties.municipality + (f.properties.area_km2 ? " · " + f.properties.area_km2 + " км²" : ""), { sticky: true });
      }
    }).addTo(map);
    cellsLayer = L.geoJSON(null, {
      style: function (f) {
        return { className: "cell", color: "#7a0000", weight: 1.5, fillColor: color(f.properties.tension), fillOpacity: 0.9 };
      },
      onEachFeature: function (f, layer) { layer.bindTooltip(cellTooltip(f.properties), { sticky: true }); }
    }).addTo(map);
    markersLayer = L.layerGroup().addTo(map);
    map.on("zoomend", function () {
      if (map.getZoom() < MARKERS_BELOW_ZOOM) { if (!map.hasLayer(markersLayer)) map.addLayer(markersLayer); }
      else if (map.hasLayer(markersLayer)) map.removeLayer(markersLayer);
    });
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var box = node("div", { "class": "legend" });
      box.appendChild(node("div", {}, "Индекс напряжённости"));
      var labels = ["< 1", "1–1,5", "1,5–2", "2–3", "3–4", "≥ 4"];
      COLORS.forEach(function (c, i) {
        var row = node("div");
        var sw = node("i");
        sw.style.background = c;
        row.appendChild(sw);
        row.appendChild(document.createTextNode(labels[i]));
        box.appendChild(row);
      });
      return box;
    };
    legend.addTo(map);
  }

  function loadAreas() {
    return getJSON("/api/areas", { region: state.region }).then(function (gj) {
      areasLayer.clearLayers();
      areasLayer.addData(gj);
      var b = areasLayer.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [8, 8] });
      return gj.features.length;
    });
  }

  function loadCells() {
    return getJSON("/api/heatmap", { region: state.region, day: state.day, sector: state.sector, resolution: state.resolution })
      .then(function (gj) {
        cellsLayer.clearLayers();
        cellsLayer.addData(gj);
        cellsLayer.bringToFront();
        markersLayer.clearLayers();
        gj.features.slice().sort(function (a, b) { return a.properties.tension - b.properties.tension; }).forEach(function (f) {
          var ring = f.geometry.coordinates[0], lat = 0, lon = 0;
          for (var i = 0; i < ring.length - 1; i++) { lon += ring[i][0]; lat += ring[i][1]; }
          var p = f.properties;
          L.circleMarker([lat / (ring.length - 1), lon / (ring.length - 1)], {
            className: "cell-marker", radius: 3 + 2.5 * Math.sqrt(p.incidents), color: "#7a0000", weight: 0.8,
            fillColor: color(p.tension), fillOpacity: 0.85
          }).bindTooltip(cellTooltip(p), { sticky: true }).addTo(markersLayer);
        });
        var sectorName = el("sector").selectedOptions[0] ? el("sector").selectedOptions[0].textContent : "";
        el("map-title").textContent = "Очаги напряжённости: " + dayLabel(state.day) + ", " + sectorName +
          " — " + gj.properties.incidents + " инцидентов в " + gj.features.length + " ячейках";
        return gj.features.length;
      });
  }

  /* ------------------------------------------------------------------ incidents */
  function renderIncidents(data, markNew) {
    var tbody = el("incidents").querySelector("tbody");
    tbody.textContent = "";
    if (!data.items.length) {
      var tr = node("tr", { "class": "empty" });
      tr.appendChild(node("td", { colspan: "7" }, "Инцидентов за этот день нет"));
      tbody.appendChild(tr);
      return 0;
    }
    var now = Date.now();
    data.items.forEach(function (it) {
      var tr = node("tr", { "data-id": it.incident_id });
      if (markNew && !state.seen[it.incident_id]) tr.className = "fresh";
      state.seen[it.incident_id] = true;
      tr.appendChild(node("td", {}, msk.format(new Date(it.first_seen))));
      var sec = node("td", {}, it.sector_name);
      if (it.needs_review) {   // the sector model was unsure: an operator should check the sector
        sec.appendChild(node("span", { "class": "review", title: "Проверьте отрасль: уверенность модели " +
          Math.round(it.sector_confidence * 100) + " %" }, " ?"));
      }
      tr.appendChild(sec);
      if (it.reopened) {       // complaints continued after a resolution: a repeat
        sec.appendChild(node("span", { "class": "repeat", title: "Повторно открыт после решения: " + it.reopened +
          " раз(а), жалобы продолжились" }, " ↻" + (it.reopened > 1 ? it.reopened : "")));
      }
      tr.appendChild(node("td", {}, [it.settlement, it.municipality].filter(Boolean).join(", ") || "не определено"));
      var title = node("td", { "class": "title" });
      if (it.source_url) {
        var a = node("a", { href: it.source_url, target: "_blank", rel: "noopener noreferrer" }, it.title);
        title.appendChild(a);
      } else {
        title.textContent = it.title;
      }
      tr.appendChild(title);
      var st = node("td");
      st.appendChild(node("span", { "class": "badge " + it.status }, STATUS_RU[it.status] || it.status));
      tr.appendChild(st);
      var due = node("td", { "class": "due" });
      if (it.next_deadline) {
        var left = Math.round((new Date(it.next_deadline).getTime() - now) / 1000);
        var what = it.deadline_kind === "first_answer" ? "ответ" : "решение";
        if (left < 0) {
          due.className = "due overdue";
          due.textContent = what + ": просрочено на " + duration(left);
        } else {
          if (left < 4 * 3600) due.className = "due soon";
          due.textContent = what + ": " + duration(left);
        }
        due.title = "Срок: " + mskDate.format(new Date(it.next_deadline)) + " МСК";
      } else {
        due.textContent = "—";
      }
      tr.appendChild(due);
      tr.appendChild(node("td", {}, it.responsible_body));
      tbody.appendChild(tr);
    });
    return data.items.length;
  }

  function loadIncidents(markNew) {
    return getJSON("/api/incidents", { region: state.region, day: state.day, sector: state.sector, limit: 50 })
      .then(function (data) { return renderIncidents(data, markNew); });
  }

  /* ------------------------------------------------------------------ SLA */
  function loadSla() {
    return getJSON("/api/sla", { region: state.region, day: state.day }).then(function (data) {
      var tbody = el("sla").querySelector("tbody");
      tbody.textContent = "";
      if (!data.rows.length) {
        var tr = node("tr", { "class": "empty" });
        tr.appendChild(node("td", { colspan: "7" }, "Отчёт о сроках за этот день ещё не рассчитан (DAG sla_daily выполняется после окончания дня)"));
        tbody.appendChild(tr);
        return 0;
      }
      data.rows.forEach(function (r) {
        var tr = node("tr");
        tr.appendChild(node("td", {}, r.municipality || "не определён"));
        ["received", "answered_on_time", "answered_late", "overdue_now", "resolved"].forEach(function (k) {
          tr.appendChild(node("td", { "class": "num" }, r[k]));
        });
        var share = r.within_deadline_share;
        var cls = share === null ? "" : share < 0.7 ? "low" : share < 0.9 ? "mid" : "high";
        tr.appendChild(node("td", { "class": "num share " + cls }, share === null ? "—" : (share * 100).toFixed(1).replace(".", ",")));
        tbody.appendChild(tr);
      });
      return data.rows.length;
    });
  }

  /* ------------------------------------------------------------------ chronic problems */
  function loadChronic() {
    return getJSON("/api/chronic", { region: state.region, day: state.day, limit: 20 }).then(function (data) {
      var tbody = el("chronic").querySelector("tbody");
      tbody.textContent = "";
      el("chronic-week").textContent = data.week ? "90 дней по " + data.week.split("-").reverse().join(".") : "еженедельно, 90 дней";
      if (!data.items.length) {
        var tr = node("tr", { "class": "empty" });
        tr.appendChild(node("td", { colspan: "7" }, "Хронических проблем нет или отчёт ещё не рассчитан (DAG chronic_problems, еженедельно)"));
        tbody.appendChild(tr);
        return 0;
      }
      data.items.forEach(function (r) {
        var tr = node("tr", { title: r.why });
        tr.appendChild(node("td", {}, [r.settlement, r.municipality].filter(Boolean).join(", ")));
        tr.appendChild(node("td", {}, r.sector_name));
        tr.appendChild(node("td", { "class": "num" }, r.incidents));
        tr.appendChild(node("td", { "class": "num" }, r.recent));
        tr.appendChild(node("td", {}, r.trend));
        tr.appendChild(node("td", { "class": "num" }, r.reopened));
        tr.appendChild(node("td", { "class": "num" }, num(r.score, 1)));
        tbody.appendChild(tr);
      });
      return data.items.length;
    });
  }

  /* ------------------------------------------------------------------ alerts */
  function loadAlerts() {
    return getJSON("/api/alerts", { region: state.region, day: state.day, sector: state.sector, limit: 50 }).then(function (data) {
      var list = el("alerts");
      list.textContent = "";
      if (!data.items.length) {
        list.appendChild(node("li", { "class": "empty" }, "Всплесков жалоб за 7 дней не было"));
        return 0;
      }
      data.items.forEach(function (a) {
        var li = node("li", { "data-id": a.alert_id });
        if (a.kind === "missing_person") {   // the fast lane: a post about a missing person
          li.className = "missing";
          li.appendChild(node("strong", {}, "Пропал человек · " + (a.municipality || "муниципалитет не определён")));
          li.appendChild(node("div", { "class": "when" }, msk.format(new Date(a.window_end)) + " МСК"));
          list.appendChild(li);
          return;
        }
        li.appendChild(node("strong", {}, (a.municipality || "муниципалитет не определён") + " · " + a.sector_name));
        li.appendChild(node("div", {}, a.observed + " жалоб за " + duration((new Date(a.window_end) - new Date(a.window_start)) / 1000) +
          " (обычно " + num(a.baseline, 2) + " в час)"));
        li.appendChild(node("div", { "class": "when" }, mskDate.format(new Date(a.window_start)) + " — " + msk.format(new Date(a.window_end)) + " МСК"));
        list.appendChild(li);
      });
      return data.items.length;
    });
  }

  /* ------------------------------------------------------------------ wiring */
  function stamp() {
    setStatus("Обновлено в " + new Intl.DateTimeFormat("ru-RU", { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(new Date()));
  }

  function refreshAll() {
    document.body.removeAttribute("data-ready");
    setStatus("Загрузка…");
    return Promise.all([loadCells(), loadIncidents(), loadSla(), loadAlerts(), loadChronic()]).then(function (counts) {
      stamp();
      if (!state.rendered) {
        state.rendered = true;
        window.tsurFirstRender = performance.now();
      }
      document.body.setAttribute("data-ready", "1");
      return counts;
    }).catch(function (err) { setStatus("Ошибка: " + err.message, true); });
  }

  function poll() {
    Promise.all([loadIncidents(true), loadAlerts()]).then(stamp).catch(function (err) { setStatus("Ошибка: " + err.message, true); });
  }

  function schedule() {
    clearInterval(pollTimer);
    clearInterval(mapTimer);
    pollTimer = setInterval(poll, POLL_MS);
    mapTimer = setInterval(function () { loadCells().catch(function () {}); }, MAP_REFRESH_MS);
  }

  function loadDays() {
    return getJSON("/api/days", { region: state.region }).then(function (data) {
      var sel = el("day");
      sel.textContent = "";
      var today = state.meta.today;
      var seen = {};
      if (!data.days.length || data.days[0].day !== today) {
        option(sel, today, dayLabel(today) + " (сегодня)");
        seen[today] = true;
      }
      data.days.forEach(function (d) {
        if (seen[d.day]) return;
        option(sel, d.day, dayLabel(d.day) + (d.day === today ? " (сегодня)" : "") + " — " + d.incidents);
      });
      state.day = data.latest;
      sel.value = state.day;
    });
  }

  function start() {
    initMap();
    getJSON("/api/meta").then(function (meta) {
      state.meta = meta;
      meta.regions.forEach(function (r) { option(el("region"), r, r); });
      meta.sectors.forEach(function (s) { option(el("sector"), s.code, s.name.charAt(0).toUpperCase() + s.name.slice(1)); });
      state.region = meta.regions[0];
      return Promise.all([loadDays(), loadAreas()]);
    }).then(refreshAll).then(schedule).catch(function (err) { setStatus("Ошибка: " + err.message, true); });

    el("region").addEventListener("change", function () {
      state.region = this.value;
      state.seen = {};
      Promise.all([loadDays(), loadAreas()]).then(refreshAll);
    });
    el("day").addEventListener("change", function () { state.day = this.value; state.seen = {}; refreshAll(); });
    el("sector").addEventListener("change", function () { state.sector = this.value; state.seen = {}; refreshAll(); });
    el("resolution").addEventListener("change", function () { state.resolution = +this.value; loadCells(); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
