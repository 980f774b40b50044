// The answer as GeoJSON, built in the page for the "Download GeoJSON" button: the kinds and
// properties of the CLI's --geojson (client/geojson.cc).
import {num, placeText, unwrapRing} from "./util.js";

// `a`: a LocateResponse (snake_case keys); `image`: the photo's name, a property of each feature.
export function answerGeoJson(a, image) {
  const features = [];
  const point = (p, props) => features.push({type: "Feature", properties: props,
    geometry: {type: "Point", coordinates: [num(p.longitude), num(p.latitude)]}});
  const polygon = (rings, props) => features.push({type: "Feature", properties: props,
    geometry: {type: "Polygon", coordinates: rings.map((r) => {
      const ring = r.map(([lat, lon]) => [lon, lat]);
      return ring.concat([ring[0]]);
    })}});
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
