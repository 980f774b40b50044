// geoloc console: sends a photo to geolocd's HTTP/JSON API (POST /v1/locate, /v1/explain) and shows
// the answer: the map (map.js), the answer panel and the Grad-CAM overlay beside the photo (here).
import {post} from "./api.js";
import {describeArea, initArea, searchArea} from "./area.js";
import {answerGeoJson} from "./geojson.js";
import {areaOnMap, clearMap, drawAnswer, initMap} from "./map.js";
import {coords, el, fmt, num, pct, placeText, rampColour} from "./util.js";

const TOKEN_KEY = "geoloc.token";  // sessionStorage: gone when the tab closes
// What every Locate asks for, with the search area of the form (area.js) when one is set.
const LOCATE_OPTIONS = {return_neighbors: true, return_cell_polygons: true, include_thumbnails: true};

const $ = (id) => document.getElementById(id);
// options: what the shown answer was asked with; its Explains and PIDF-LO ask the same, so "peak 2"
// means the same peak even after the search area form has changed.
const state = {file: null, fileName: "", answer: null, options: LOCATE_OPTIONS, areaText: "", busy: false};
const upload = () => ({file: state.file, name: state.fileName, token: $("token").value.trim()});

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const a = el("a", {href: url, download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
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
  if (state.areaText) best.append(el("div", {class: "help", id: "best-area", text: `Given the search area: ${state.areaText}`}));
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
  clearMap();
}

async function locate(file, name) {
  if (state.busy) return;
  let options;
  try {
    const area = searchArea();
    options = area ? {...LOCATE_OPTIONS, area} : LOCATE_OPTIONS;
  } catch (e) {
    showError(e.message);
    return;
  }
  state.file = file;
  state.fileName = name || file.name || "photo";
  state.options = options;
  state.areaText = options.area ? describeArea() : "";
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
    state.answer = await post("v1/locate", upload(), "options", state.options);
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
    const r = await post("v1/explain", upload(), "request", {...target, options: state.options, return_overlay: true});
    $("explain").src = "data:image/png;base64," + r.overlay_png;
    // The page numbers peaks and neighbours from 1; the server's description counts from 0.
    const label = kind === "classifier" ? `classifier cell ${target.cell_token}` : `${kind} ${index + 1}`;
    $("explain-caption").textContent = `Grad-CAM of ${label}: ${r.target_description} ` +
                                       `(score ${fmt(r.target_score, 3)}, ${fmt(r.timings && r.timings.explain_ms, 0)} ms)`;
    $("explain-figure").hidden = false;
  } catch (e) {
    showError(e.message);
  } finally {
    setBusy(false);
  }
}

const baseName = () => (state.fileName || "photo").replace(/\.[^.]*$/, "");

async function downloadPidf() {
  if (state.busy || !state.file) return;
  showError("");
  setBusy(true, "Writing PIDF-LO…");
  try {
    const xml = await post("v1/locate", upload(), "options", state.options, "application/pidf+xml");
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
  initMap(showError, explain);
  initArea(areaOnMap);
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
    if (state.answer) download(`${baseName()}.geojson`, "application/geo+json", answerGeoJson(state.answer, state.fileName));
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
