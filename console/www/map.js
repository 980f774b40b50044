// The offline map: Natural Earth outlines (world-atlas via topojson-client) under Leaflet layers
// for the answer's regions, cells, neighbours, best estimate and peaks, with a legend. Leaflet
// and topojson are the globals of their classic scripts (index.html loads them first).
import {RAMP, coords, el, fmt, num, pct, placeText, rampColour, unwrapRing} from "./util.js";

const REGION_COLOURS = ["#c2185b", "#e65100", "#6a1b9a", "#00695c"];
let map, layers;
// What a click on the map asks of the app: explain(target, kind, index), target one of
// {peak_index}, {neighbor_id}, {cell_token} (ExplainRequest's oneof).
let handlers = {explain: () => {}};
// While the operator picks a search area on the map (area.js), a click means a point, not "explain".
let pickingArea = false;
const explainFromMap = (target, kind, index) => { if (!pickingArea) handlers.explain(target, kind, index); };

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
// Builds the map in #map; onError(message) reports a basemap that did not load.
export function initMap(onError, explainHandler) {
  handlers = {explain: explainHandler};
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
    .catch((e) => onError(`basemap not loaded (${e.message}); run tools/console_deps.sh`));
  layers = {
    regions: L.layerGroup().addTo(map),
    cells: L.layerGroup().addTo(map),
    classifier: L.layerGroup().addTo(map),
    neighbours: L.layerGroup().addTo(map),
    best: L.layerGroup().addTo(map),
    peaks: L.layerGroup().addTo(map),
  };
  areaLayer = L.layerGroup().addTo(map);
  L.control.layers(null, {
    "Confidence regions": layers.regions,
    "Retrieval cells": layers.cells,
    "Classifier cells": layers.classifier,
    "Neighbours": layers.neighbours,
    "Best estimate": layers.best,
    "Peaks": layers.peaks,
    "Search area": areaLayer,
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
    div.append(el("div", {class: "key"}, el("i", {style: "border-color:#f5a400;border-style:dashed"}), "search area"));
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

export function drawAnswer(a) {
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
    cellLayer(c, true, () => explainFromMap({cell_token: c.token}, "classifier", i)).addTo(layers.classifier));
  (a.neighbors || []).forEach((n, i) => {
    L.circleMarker(mapLatLng(n.location), {radius: 4, color: "#1f4e79", weight: 1, fillColor: "#6fa8dc",
                                        fillOpacity: 0.9})
      .bindTooltip(`neighbour ${i + 1}: id ${n.id}, similarity ${fmt(n.similarity, 3)}`)
      .on("click", () => explainFromMap({neighbor_id: String(n.id)}, "neighbour", i))
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
      marker.on("click", () => explainFromMap({peak_index: i}, "peak", i));
      marker.addTo(layers.peaks);
      bounds.push(mapLatLng(p.location));
    });
  if (bounds.length) map.fitBounds(L.latLngBounds(bounds).pad(0.5), {maxZoom: 10});
}
// The search area's outline (area.js owns the form): a layer of its own, kept across answers,
// and the map's clicks for picking its centre or vertices.
let areaLayer;
export const areaOnMap = {
  onClick: (handler) => map.on("click", (e) => handler(e.latlng.lat, e.latlng.lng)),
  setPicking: (on) => { pickingArea = on; },
  clear: () => areaLayer.clearLayers(),
  circle: (center, radiusKm) => {
    if (!(radiusKm > 0)) return;
    L.circle(mapLatLng(center), {radius: 1000 * radiusKm, color: "#f5a400", weight: 2, dashArray: "6 4",
                                 fill: false, interactive: false, className: "search-area"}).addTo(areaLayer);
  },
  polygon: (vertices) => {
    const ring = mapRing(vertices);
    const style = {color: "#f5a400", weight: 2, dashArray: "6 4", fill: false, interactive: false,
                   className: "search-area"};
    (ring.length >= 3 ? L.polygon(ring, style) : L.polyline(ring, style)).addTo(areaLayer);
  },
};

export function clearMap() {
  if (layers) Object.values(layers).forEach((g) => g.clearLayers());
}
