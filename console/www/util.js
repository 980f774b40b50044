// Small shared helpers of the console: number formatting, DOM building, colours, rings.

// Sequential colour ramp for weight shares (viridis, 6 stops), low to high.
export const RAMP = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"];

export const num = (x) => Number(x || 0);
export const fmt = (x, digits = 2) => num(x).toFixed(digits);
export const pct = (x) => (100 * num(x)).toFixed(1) + "%";
export const coords = (p) => `${fmt(p && p.latitude, 5)}, ${fmt(p && p.longitude, 5)}`;
export const placeText = (obj) => (obj && obj.place && obj.place.description) || "";
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
export function rampColour(share) {
  const i = Math.min(RAMP.length - 1, Math.floor(Math.max(0, Math.min(1, share)) * RAMP.length));
  return RAMP[i];
}
// Leaflet draws a polygon edge straight in longitude: unwrap each ring so that no edge jumps by
// more than 180 degrees (an outline across the antimeridian then draws as one piece).
export function unwrapRing(points) {
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
