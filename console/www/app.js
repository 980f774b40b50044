// geoloc console: sends a photo to geolocd's HTTP/JSON API (POST /v1/locate, /v1/explain) and shows
// the answer on an offline Leaflet map (Natural Earth outlines from world-atlas, no tiles).
// The API's messages are protobuf's JSON mapping; `snakeKeys` accepts both the proto field names
// and the lowerCamelCase ones, so the page does not depend on the server's printer options.
"use strict";

(() => {
  const TOKEN_KEY = "geoloc.token";  // sessionStorage: gone when the tab closes
  const TIMEOUT_MS = 60000;          // X-Geoloc-Timeout-Ms: the call's deadline on the server
  // What every Locate (and the Explain that must see the same peaks) asks for.
  const LOCATE_OPTIONS = {return_neighbors: true, return_cell_polygons: true, include_thumbnails: true};
  // Sequential colour ramp for weight shares (viridis, 6 stops), low to high.
  const RAMP = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"];
  const REGION_COLOURS = ["#c2185b", "#e65100", "#6a1b9a", "#00695c"];

  const $ = (id) => document.getElementById(id);
  const state = {file: null, fileName: "", answer: null, selected: null, busy: false};
  let map, layers;

  // ---- small helpers ------------------------------------------------------------------------
  function snakeKeys(value) {
    if (Array.isArray(value)) return value.map(snakeKeys);
    if (value === null || typeof value !== "object") return value;
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      out[k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())] = snakeKeys(v);
    }
    return out;
  }
  const num = (x) => Number(x || 0);
  const fmt = (x, digits = 2) => num(x).toFixed(digits);
  const pct = (x) => (100 * num(x)).toFixed(1) + "%";
  const coords = (p) => `${fmt(p && p.latitude, 5)}, ${fmt(p && p.longitude, 5)}`;
  const placeText = (obj) => (obj && obj.place && obj.place.description) || "";
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  function rampColour(share) {
    const i = Math.min(RAMP.length - 1, Math.floor(Math.max(0, Math.min(1, share)) * RAMP.length));
    return RAMP[i];
  }
  // Leaflet draws a polygon edge straight in longitude: unwrap each ring so that no edge jumps by
  // more than 180 degrees (an outline across the antimeridian then draws as one piece).
  function unwrapRing(points) {
    const out = [];
    let prev = null;
    for (const p of points) {
      let lon = num(p.longitude);
      if (prev !== null) {
        while (lon - prev > 180) lon -= 360;
        while (lon - prev < -180) lon += 360;
      }
      out.push([num(p.latitude), lon]);
      prev = lon;
    }
    return out;
  }
  // The basemap's rings that cross the antimeridian (Chukotka, Fiji) would draw as a line across
  // the world: unwrap them, except the rings around a pole (Antarctica), whose longitudes turn a
  // full 360 degrees and are drawn right as they are.
  function unwrapBasemap(geometry) {
    const fix = (ring) => {
      const out = [];
      let prev = null;
      for (const [lon0, lat] of ring) {
        let lon = lon0;
        if (prev !== null) {
          while (lon - prev > 180) lon -= 360;
          while (lon - prev < -180) lon += 360;
        }
        out.push([lon, lat]);
        prev = lon;
      }
      return Math.abs(out[out.length - 1][0] - out[0][0]) > 180 ? ring : out;
    };
    if (geometry.type === "Polygon") geometry.coordinates = geometry.coordinates.map(fix);
    if (geometry.type === "MultiPolygon") {
      geometry.coordinates = geometry.coordinates.map((polygon) => polygon.map(fix));
    }
    return geometry;
  }
  // The map draws an answer around its best estimate's longitude: every point goes to the copy
  // of the world nearest to it, so an answer straddling the antimeridian (Chukotka and Alaska) is
  // one cluster rather than two halves at the map's edges. The basemap is drawn three times
  // (longitudes -540..540) so that there is land under those copies.
  let mapRefLon = 0;
  const nearRef = (lon) => lon + 360 * Math.round((mapRefLon - lon) / 360);
  const mapLatLng = (p) => [num(p && p.latitude), nearRef(num(p && p.longitude))];
  function mapRing(points) {
    const ring = unwrapRing(points);
    if (!ring.length) return ring;
    const shift = nearRef(ring[0][1]) - ring[0][1];
    return ring.map(([lat, lon]) => [lat, lon + shift]);
  }
  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], {type}));
    const a = el("a", {href: url, download: name});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---- the API -------------------------------------------------------------------------------
  function headers(extra = {}) {
    const h = {"X-Geoloc-Timeout-Ms": String(TIMEOUT_MS), ...extra};
    const token = $("token").value.trim();
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }
  // POSTs multipart/form-data: the photo as part `image`, `jsonPart` as a JSON part named
  // `jsonName`. Throws an Error with the API's "CODE: message" on a non-2xx answer.
  async function post(path, jsonName, jsonPart, accept = "application/json") {
    const form = new FormData();
    form.append("image", state.file, state.fileName || "photo");
    form.append(jsonName, new Blob([JSON.stringify(jsonPart)], {type: "application/json"}));
    let response;
    try {
      response = await fetch(path, {method: "POST", body: form, headers: headers({Accept: accept})});
    } catch (e) {
      throw new Error(`cannot reach the server (${e.message})`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        const body = JSON.parse(text);
        message = `${body.code || response.status}: ${body.message || text}`;
      } catch (_) {
        if (text) message += `: ${text.slice(0, 300)}`;
      }
      throw new Error(message);
    }
    return accept === "application/json" ? snakeKeys(JSON.parse(text)) : text;
  }

  // ---- progress and errors --------------------------------------------------------------------
  function setBusy(busy, text) {
    state.busy = busy;
    $("progress").hidden = !busy;
    $("progress-text").textContent = text || "";
    document.body.classList.toggle("busy", busy);
    for (const id of ["random", "download-geojson", "download-pidf", "file"]) $(id).disabled = busy;
    document.querySelectorAll(".list button").forEach((b) => { b.disabled = busy; });
  }
  function showError(message) {
    $("error").hidden = !message;
    $("error").textContent = message || "";
  }

  // ---- the map -------------------------------------------------------------------------------
  function initMap() {
    map = L.map("map", {worldCopyJump: true, minZoom: 1, maxZoom: 16, zoomSnap: 0.5,
                        attributionControl: false, keyboard: true}).setView([20, 0], 2);
    fetch("vendor/world-atlas/countries-50m.json")
      .then((r) => r.json())
      .then((world) => {
        const countries = topojson.feature(world, world.objects.countries);
        countries.features.forEach((f) => { if (f.geometry) unwrapBasemap(f.geometry); });
        for (const offset of [-360, 0, 360]) {
          L.geoJSON(countries, {
            style: {color: "#7d8b99", weight: 0.7, fillColor: "#f2efe6", fillOpacity: 1},
            coordsToLatLng: (c) => L.latLng(c[1], c[0] + offset),
            interactive: false,
          }).addTo(map).bringToBack();
        }
      })
      .catch((e) => showError(`basemap not loaded (${e.message}); run tools/console_deps.sh`));
    layers = {
      regions: L.layerGroup().addTo(map),
      cells: L.layerGroup().addTo(map),
      classifier: L.layerGroup().addTo(map),
      neighbours: L.layerGroup().addTo(map),
      best: L.layerGroup().addTo(map),
      peaks: L.layerGroup().addTo(map),
    };
    L.control.layers(null, {
      "Confidence regions": layers.regions,
      "Retrieval cells": layers.cells,
      "Classifier cells": layers.classifier,
      "Neighbours": layers.neighbours,
      "Best estimate": layers.best,
      "Peaks": layers.peaks,
    }, {collapsed: true}).addTo(map);
    const legend = L.control({position: "bottomright"});
    legend.onAdd = () => {
      const div = el("div", {class: "legend", id: "legend"});
      div.append(el("div", {text: "Cell weight share"}));
      const ramp = el("div", {class: "ramp"});
      RAMP.forEach((c) => ramp.append(el("span", {style: `background:${c}`})));
      div.append(ramp, el("div", {class: "ends"}, el("span", {text: "0"}), el("span", {text: "1"})));
      div.append(el("div", {class: "key"}, el("i", {style: "border-color:#fff;border-style:dashed;background:#8888"}),
                    "classifier cell"));
      div.append(el("div", {class: "key"}, el("i", {style: "border-color:#c0392b;border-radius:50%"}),
                    "peak (size: mass)"));
      div.append(el("div", {class: "key"}, el("i", {style: "border-color:#17324d;border-radius:50%"}),
                    "best estimate ± spread"));
      div.append(el("div", {class: "key"}, el("i", {style: "border-color:#c2185b"}), "confidence region"));
      return div;
    };
    legend.addTo(map);
  }

  function cellLayer(cell, classifier, onClick) {
    const share = num(cell.weight_share);
    const style = {color: classifier ? "#ffffff" : rampColour(share), weight: classifier ? 1.5 : 1,
                   dashArray: classifier ? "4 3" : null, fillColor: rampColour(share),
                   // Classifier cells are large (whole regions): fainter, so the land shows through.
                   fillOpacity: (classifier ? 0.1 : 0.25) + (classifier ? 0.3 : 0.45) * Math.min(1, share)};
    const layer = cell.polygon && cell.polygon.length >= 3
      ? L.polygon(mapRing(cell.polygon), style)
      : L.circleMarker(mapLatLng(cell.center), {...style, radius: 6});
    const place = placeText(cell);
    layer.bindTooltip(`${classifier ? "classifier" : "retrieval"} cell ${cell.token} (level ${cell.level})` +
                      `<br>weight share ${pct(share)}${place ? "<br>" + place : ""}`);
    if (onClick) layer.on("click", onClick);
    return layer;
  }

  function drawAnswer(a) {
    Object.values(layers).forEach((g) => g.clearLayers());
    const centre = (a.best && a.best.location) || ((a.peaks || [])[0] || {}).location;
    mapRefLon = centre ? num(centre.longitude) : 0;
    const bounds = [];
    (a.regions || []).forEach((region, i) => {
      const colour = REGION_COLOURS[i % REGION_COLOURS.length];
      if (region.whole_sphere) return;  // no outline to draw: the answer panel says "whole sphere"
      (region.pieces || []).forEach((piece) => {
        const rings = [mapRing((piece.exterior && piece.exterior.vertices) || [])]
          .concat((piece.holes || []).map((h) => mapRing(h.vertices || [])));
        L.polygon(rings, {color: colour, weight: 2, fill: false, interactive: true,
                          className: `region region-${i}`})
          .bindTooltip(`${pct(region.level)} region (guaranteed coverage ${pct(region.guaranteed_coverage)}),` +
                       ` ${fmt(region.area_km2, 0)} km²`)
          .addTo(layers.regions);
      });
    });
    (a.cells || []).forEach((c) => cellLayer(c, false, null).addTo(layers.cells));
    (a.classifier_cells || []).forEach((c, i) =>
      cellLayer(c, true, () => explain({cell_token: c.token}, "classifier", i)).addTo(layers.classifier));
    (a.neighbors || []).forEach((n, i) => {
      L.circleMarker(mapLatLng(n.location), {radius: 4, color: "#1f4e79", weight: 1, fillColor: "#6fa8dc",
                                          fillOpacity: 0.9})
        .bindTooltip(`neighbour ${i + 1}: id ${n.id}, similarity ${fmt(n.similarity, 3)}`)
        .on("click", () => explain({neighbor_id: String(n.id)}, "neighbour", i))
        .addTo(layers.neighbours);
    });
    if (a.best && a.best.location) {
      const at = mapLatLng(a.best.location);
      L.circle(at, {radius: 1000 * num(a.best.uncertainty_km), color: "#17324d", weight: 2,
                    fillColor: "#17324d", fillOpacity: 0.08, interactive: false}).addTo(layers.best);
      L.circleMarker(at, {radius: 5, color: "#17324d", fillColor: "#fff", fillOpacity: 1, weight: 3})
        .bindTooltip(`best estimate ${coords(a.best.location)} ± ${fmt(a.best.uncertainty_km, 1)} km` +
                     (placeText(a.best) ? "<br>" + placeText(a.best) : ""))
        .addTo(layers.best);
      bounds.push(at);
    }
    // Largest first so the smaller peaks stay clickable on top.
    (a.peaks || []).map((p, i) => [p, i]).sort((x, y) => num(y[0].mass) - num(x[0].mass))
      .forEach(([p, i]) => {
        const marker = L.circleMarker(mapLatLng(p.location), {
          radius: 7 + 18 * Math.sqrt(num(p.mass)), color: "#fff", weight: 2, fillColor: "#c0392b",
          fillOpacity: 0.85, className: `peak peak-${i}`});
        marker.bindTooltip(String(i + 1), {permanent: true, direction: "center", className: "peak-label"});
        marker.on("click", () => explain({peak_index: i}, "peak", i));
        marker.addTo(layers.peaks);
        bounds.push(mapLatLng(p.location));
      });
    if (bounds.length) map.fitBounds(L.latLngBounds(bounds).pad(0.5), {maxZoom: 10});
  }

  // ---- the answer panel ------------------------------------------------------------------------
  function listButton(kind, index, onClick, ...children) {
    const b = el("button", {type: "button", "data-kind": kind, "data-index": String(index),
                            "aria-pressed": "false"}, ...children);
    b.addEventListener("click", onClick);
    return el("li", {}, b);
  }
  function markSelected(kind, index) {
    document.querySelectorAll(".list button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.kind === kind && b.dataset.index === String(index)));
    });
  }

  function renderAnswer(a) {
    $("results").hidden = false;
    $("results").scrollTop = 0;  // a new answer starts at its best estimate
    $("versions").textContent = `model ${a.model_version || "?"} · bundle ${a.bundle_version || "?"}` +
                                ` · estimator ${(a.estimator || "").replace("ESTIMATOR_", "").toLowerCase()}`;
    const best = $("best-block");
    best.replaceChildren(el("h2", {text: "Best estimate"}));
    if (a.best && a.best.location) {
      best.append(el("div", {class: "best"},
        el("span", {class: "coords", text: coords(a.best.location)}),
        ` ± ${fmt(a.best.uncertainty_km, 1)} km, weight share ${pct(a.best.weight_share)}`));
      if (placeText(a.best)) best.append(el("div", {class: "place", id: "best-place", text: placeText(a.best)}));
    }
    if (a.abstained) {
      best.append(el("div", {class: "warn", text:
        `Abstains: P(localizable) ${pct(a.localizable_probability)} is below ${pct(a.abstain_below)}.`}));
    }

    const cal = $("calibration-block");
    cal.hidden = !a.calibrated;
    if (a.calibrated) {
      const table = el("table", {class: "within"},
        el("tr", {}, el("th", {text: "within"}), el("th", {text: "probability"})));
      (a.within || []).forEach((w) => table.append(
        el("tr", {}, el("td", {text: `${fmt(w.threshold_km, 0)} km`}), el("td", {text: pct(w.probability)}))));
      cal.replaceChildren(el("h2", {text: "Calibrated"}),
        el("div", {text: `P(localizable) ${pct(a.localizable_probability)}; regions: ` +
          (a.regions || []).map((r) => r.whole_sphere ? `${pct(r.level)} whole sphere`
                                                       : `${pct(r.level)} ${fmt(r.area_km2, 0)} km²`).join(", ")}),
        table);
    }

    $("peaks").replaceChildren(...(a.peaks || []).map((p, i) => listButton("peak", i,
      () => explain({peak_index: i}, "peak", i),
      el("span", {class: "rank", text: String(i + 1)}),
      el("span", {class: "what"}, `${coords(p.location)} · mass ${pct(p.mass)}`,
         el("small", {text: `${p.support || 0} neighbours, radius ${fmt(p.radius_km, 1)} km` +
                            (placeText(p) ? ` · ${placeText(p)}` : "")})))));

    const cellItem = (kind, clickable) => (c, i) => {
      const children = [el("span", {class: "swatch", style: `background:${rampColour(num(c.weight_share))}`}),
        el("span", {class: "what"}, `${c.token} (level ${c.level}) · ${pct(c.weight_share)}`,
           placeText(c) ? el("small", {text: placeText(c)}) : null)];
      if (clickable) return listButton(kind, i, () => explain({cell_token: c.token}, kind, i), ...children);
      return el("li", {class: "static"}, el("div", {class: "row"}, ...children));
    };
    $("classifier-block").hidden = !(a.classifier_cells || []).length;
    $("classifier-cells").replaceChildren(...(a.classifier_cells || []).slice(0, 10).map(cellItem("classifier", true)));
    $("cells-block").hidden = !(a.cells || []).length;
    $("cells").replaceChildren(...(a.cells || []).slice(0, 10).map(cellItem("cell", false)));

    $("neighbours").replaceChildren(...(a.neighbors || []).map((n, i) => listButton("neighbour", i,
      () => explain({neighbor_id: String(n.id)}, "neighbour", i),
      n.thumbnail_jpeg ? el("img", {src: "data:image/jpeg;base64," + n.thumbnail_jpeg,
                                    alt: `database image ${n.id}`}) : null,
      el("span", {class: "what"}, `#${i + 1} id ${n.id} · similarity ${fmt(n.similarity, 3)}`,
         el("small", {text: `${coords(n.location)}${n.group ? " · " + n.group : ""}`})))));

    const t = a.timings || {};
    const rows = [["decode", t.decode_ms], ["queue", t.queue_ms], ["encode", t.encode_ms],
                  ["search", t.search_ms], ["estimate", t.estimate_ms], ["classify", t.classify_ms],
                  ["calibrate", t.calibrate_ms], ["total", t.total_ms]];
    $("timings").replaceChildren(...rows.map(([name, ms]) =>
      el("tr", {}, el("td", {text: name}), el("td", {text: `${fmt(ms, 1)} ms`}))),
      el("tr", {}, el("td", {text: "batch size"}), el("td", {text: String(t.batch_size || 0)})));
    const hasPlace = [a.best, ...(a.peaks || []), ...(a.cells || [])].some((x) => placeText(x));
    $("gazetteer-attribution").textContent = hasPlace ? "Place names: GeoNames (CC BY 4.0)." : "";
  }

  // ---- actions ---------------------------------------------------------------------------------
  function clearAnswer() {
    state.answer = null;
    $("results").hidden = true;
    $("explain-figure").hidden = true;
    if (layers) Object.values(layers).forEach((g) => g.clearLayers());
  }

  async function locate(file, name) {
    if (state.busy) return;
    state.file = file;
    state.fileName = name || file.name || "photo";
    clearAnswer();
    showError("");
    const photo = $("photo");
    if (photo.src.startsWith("blob:")) URL.revokeObjectURL(photo.src);
    // A file the browser cannot show (a text file, a TIFF) still goes to the server, which decides.
    photo.onerror = () => { $("photo-figure").hidden = true; };
    photo.src = URL.createObjectURL(file);
    $("photo-caption").textContent = `${state.fileName} (${(file.size / 1024).toFixed(0)} KB)`;
    $("photo-figure").hidden = false;
    setBusy(true, "Locating…");
    try {
      state.answer = await post("v1/locate", "options", LOCATE_OPTIONS);
      renderAnswer(state.answer);
      drawAnswer(state.answer);
    } catch (e) {
      showError(e.message);
    } finally {
      setBusy(false);
    }
  }

  // target: {peak_index} | {neighbor_id} | {cell_token}; kind/index mark the list entry.
  async function explain(target, kind, index) {
    if (state.busy || !state.answer) return;
    markSelected(kind, index);
    showError("");
    setBusy(true, "Explaining…");
    try {
      const r = await post("v1/explain", "request", {...target, options: LOCATE_OPTIONS, return_overlay: true});
      $("explain").src = "data:image/png;base64," + r.overlay_png;
      $("explain-caption").textContent = `Grad-CAM: ${r.target_description || kind} ` +
                                         `(score ${fmt(r.target_score, 3)}, ${fmt(r.timings && r.timings.explain_ms, 0)} ms)`;
      $("explain-figure").hidden = false;
    } catch (e) {
      showError(e.message);
    } finally {
      setBusy(false);
    }
  }

  function geojson(a) {
    const features = [];
    const point = (p, props) => features.push({type: "Feature", properties: props,
      geometry: {type: "Point", coordinates: [num(p.longitude), num(p.latitude)]}});
    const polygon = (rings, props) => features.push({type: "Feature", properties: props,
      geometry: {type: "Polygon", coordinates: rings.map((r) => {
        const ring = r.map(([lat, lon]) => [lon, lat]);
        return ring.concat([ring[0]]);
      })}});
    const image = state.fileName;
    if (a.best && a.best.location) {
      point(a.best.location, {kind: "best", image, uncertainty_km: num(a.best.uncertainty_km),
                              weight_share: num(a.best.weight_share), place: placeText(a.best)});
    }
    (a.peaks || []).forEach((p, i) => point(p.location, {kind: "peak", image, rank: i + 1, mass: num(p.mass),
      support: num(p.support), radius_km: num(p.radius_km), place: placeText(p)}));
    for (const [kind, cells] of [["cell", a.cells], ["classifier_cell", a.classifier_cells]]) {
      (cells || []).forEach((c) => {
        const props = {kind, image, token: c.token, level: num(c.level),
                       weight_share: num(c.weight_share), place: placeText(c)};
        if (c.polygon && c.polygon.length >= 3) polygon([unwrapRing(c.polygon)], props);
        else point(c.center, props);
      });
    }
    (a.neighbors || []).forEach((n, i) => point(n.location, {kind: "neighbor", image, rank: i + 1,
      id: String(n.id), similarity: num(n.similarity), source: n.source || ""}));
    (a.regions || []).filter((r) => !r.whole_sphere).forEach((r) => (r.pieces || []).forEach((piece) => polygon(
      [unwrapRing(piece.exterior.vertices || [])].concat((piece.holes || []).map((h) => unwrapRing(h.vertices || []))),
      {kind: "region", image, level: num(r.level), guaranteed_coverage: num(r.guaranteed_coverage),
       area_km2: num(piece.area_km2), calibrated: !!a.calibrated})));
    return JSON.stringify({type: "FeatureCollection", features}, null, 1);
  }

  const baseName = () => (state.fileName || "photo").replace(/\.[^.]*$/, "");

  async function downloadPidf() {
    if (state.busy || !state.file) return;
    showError("");
    setBusy(true, "Writing PIDF-LO…");
    try {
      const xml = await post("v1/locate", "options", LOCATE_OPTIONS, "application/pidf+xml");
      download(`${baseName()}.pidf.xml`, "application/pidf+xml", xml);
    } catch (e) {
      showError(e.message);
    } finally {
      setBusy(false);
    }
  }

  async function randomDemo(photos) {
    const name = photos[Math.floor(Math.random() * photos.length)];
    try {
      const r = await fetch("demo/" + encodeURIComponent(name).replace(/%2F/g, "/"));
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      await locate(await r.blob(), name);
    } catch (e) {
      showError(`demo photo ${name}: ${e.message}`);
    }
  }

  // ---- wiring ----------------------------------------------------------------------------------
  function firstImage(files) {
    return files && files.length ? files[0] : null;
  }
  function init() {
    initMap();
    const token = $("token");
    token.value = sessionStorage.getItem(TOKEN_KEY) || "";
    token.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, token.value.trim()));
    $("token-form").addEventListener("submit", (e) => e.preventDefault());

    $("file").addEventListener("change", (e) => {
      const f = firstImage(e.target.files);
      if (f) locate(f);
      e.target.value = "";
    });
    const drop = $("drop");
    drop.addEventListener("click", () => $("file").click());
    drop.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); }
    });
    for (const target of [drop, document.body]) {
      target.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
      target.addEventListener("dragleave", () => drop.classList.remove("over"));
      target.addEventListener("drop", (e) => {
        e.preventDefault();
        e.stopPropagation();
        drop.classList.remove("over");
        const f = firstImage(e.dataTransfer && e.dataTransfer.files);
        if (f) locate(f);
      });
    }
    document.addEventListener("paste", (e) => {
      const f = firstImage(e.clipboardData && e.clipboardData.files);
      if (f) { e.preventDefault(); locate(f, f.name || "pasted photo"); }
    });
    $("download-geojson").addEventListener("click", () => {
      if (state.answer) download(`${baseName()}.geojson`, "application/geo+json", geojson(state.answer));
    });
    $("download-pidf").addEventListener("click", downloadPidf);

    // A demo folder is optional: <console_dir>/demo/index.json lists its photos
    // (tools/console_site.sh --demo_csv builds one).
    fetch("demo/index.json").then((r) => (r.ok ? r.json() : null)).then((index) => {
      const photos = index && Array.isArray(index.photos) ? index.photos : [];
      if (!photos.length) return;
      const button = $("random");
      button.hidden = false;
      button.title = `${photos.length} photos in the demo folder`;
      button.addEventListener("click", () => randomDemo(photos));
    }).catch(() => {});
  }
  document.addEventListener("DOMContentLoaded", init);
})();
