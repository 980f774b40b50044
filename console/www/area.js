// The search area of the next calls (LocateOptions.area, docs/SERVER.md "Search areas"): a circle,
// a polygon or S2 cell tokens, as a hard filter (only database photos inside) or, for a circle, a
// soft prior (a cell sector known to some kilometres). This module owns the "Search area" form
// and the area's outline on the map. It only reads the form into the API's SearchArea message; the
// limits (radius, vertex count, valid rings, tokens) are the server's, and its INVALID_ARGUMENT
// message is what the page shows for a bad area.
import {coords, fmt} from "./util.js";

const $ = (id) => document.getElementById(id);
let drawOn = {clear: () => {}, circle: () => {}, polygon: () => {}, setPicking: () => {}};
let picking = false;

const numbers = (text) => text.split(/[\s,;]+/).filter(Boolean).map(Number);
function number(id, what) {
  const text = $(id).value.trim();
  const x = Number(text);
  if (text === "" || !Number.isFinite(x)) throw new Error(`search area: ${what} is not a number`);
  return x;
}
// "lat, lng" per line (or any separators): pairs in order.
function vertices() {
  const values = numbers($("area-vertices").value);
  if (values.some((v) => !Number.isFinite(v)) || values.length % 2) {
    throw new Error("search area: the polygon needs a latitude and a longitude per vertex");
  }
  const out = [];
  for (let i = 0; i < values.length; i += 2) out.push({latitude: values[i], longitude: values[i + 1]});
  return out;
}

// The SearchArea message for the form, or null for no area; throws an Error naming the field the
// page cannot read.
export function searchArea() {
  const shape = $("area-shape").value;
  const mode = $("area-mode").value;
  if (shape === "circle") {
    return {circle: {center: {latitude: number("area-lat", "the centre's latitude"),
                              longitude: number("area-lng", "the centre's longitude")},
                     radius_km: number("area-radius", "the radius")}, mode};
  }
  if (shape === "polygon") return {polygon: {vertices: vertices()}, mode};
  if (shape === "cells") return {cells: {tokens: $("area-tokens").value.split(/[\s,;]+/).filter(Boolean)}, mode};
  return null;
}

// One line for the form's summary and the answer panel: what the next call searches.
export function describeArea() {
  try {
    const a = searchArea();
    if (!a) return "whole world";
    const how = a.mode === "SOFT" ? "soft prior" : "hard filter";
    if (a.circle) return `${fmt(a.circle.radius_km, 1)} km around ${coords(a.circle.center)}, ${how}`;
    if (a.polygon) return `polygon of ${a.polygon.vertices.length} vertices, ${how}`;
    return `${a.cells.tokens.length} S2 cells, ${how}`;
  } catch (e) {
    return "incomplete";
  }
}

function setPicking(on) {
  picking = on && ["circle", "polygon"].includes($("area-shape").value);
  drawOn.setPicking(picking);
  $("area-pick").setAttribute("aria-pressed", String(picking));
  $("area-pick").textContent = picking ? "Picking: click the map" : "Pick on map";
  document.body.classList.toggle("picking-area", picking);
}

function refresh() {
  const shape = $("area-shape").value;
  $("area-circle").hidden = shape !== "circle";
  $("area-polygon").hidden = shape !== "polygon";
  $("area-cells").hidden = shape !== "cells";
  $("area-details").hidden = !shape;
  if (!["circle", "polygon"].includes(shape)) setPicking(false);
  $("area-summary").textContent = describeArea();
  drawOn.clear();
  try {
    const a = searchArea();
    if (a && a.circle) drawOn.circle(a.circle.center, a.circle.radius_km);
    if (a && a.polygon && a.polygon.vertices.length) drawOn.polygon(a.polygon.vertices);
  } catch (e) {
    // An incomplete form draws nothing yet; the call reports what is missing.
  }
}

// A click on the map while picking: the circle's centre, or the polygon's next vertex.
function mapClicked(latitude, longitude) {
  if (!picking) return;
  // Leaflet's longitudes run on past +-180 on the world's copies: back into [-180, 180).
  const lng = ((((longitude + 180) % 360) + 360) % 360) - 180;
  if ($("area-shape").value === "circle") {
    $("area-lat").value = latitude.toFixed(5);
    $("area-lng").value = lng.toFixed(5);
  } else {
    const text = $("area-vertices").value.trimEnd();
    $("area-vertices").value = `${text ? text + "\n" : ""}${latitude.toFixed(5)}, ${lng.toFixed(5)}`;
  }
  refresh();
}

// mapApi: {onClick(handler(lat, lng)), setPicking(on), clear(), circle(center, radiusKm),
// polygon(vertices)} (map.js's area layer).
export function initArea(mapApi) {
  drawOn = mapApi;
  mapApi.onClick(mapClicked);
  for (const id of ["area-shape", "area-mode", "area-lat", "area-lng", "area-radius", "area-vertices",
                    "area-tokens"]) {
    $(id).addEventListener("input", refresh);
  }
  $("area-pick").addEventListener("click", () => setPicking(!picking));
  $("area-clear").addEventListener("click", () => {
    for (const id of ["area-lat", "area-lng", "area-vertices", "area-tokens"]) $(id).value = "";
    $("area-shape").value = "";
    refresh();
  });
  refresh();
}
