// The HTTP/JSON API of geolocd (docs/HTTP_API.md) as the console calls it: multipart uploads,
// bearer token, deadline header, the API's error body turned into an Error. The API's messages are
// protobuf's JSON mapping; `snakeKeys` accepts both the proto field names and the lowerCamelCase
// ones, so the page does not depend on the server's printer options.
const TIMEOUT_MS = 60000;  // X-Geoloc-Timeout-Ms: the call's deadline on the server

function snakeKeys(value) {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    out[k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())] = snakeKeys(v);
  }
  return out;
}
// POSTs multipart/form-data to `path` (relative to the page): upload.file as part `image`,
// `jsonPart` as a JSON part named `jsonName`, upload.token (if any) as the bearer token. Answers
// the parsed JSON (snake_case keys), or the text for another `accept`; throws an Error with the
// API's "CODE: message" on a non-2xx answer.
//   const answer = await post("v1/locate", {file, name, token}, "options", {k: 60});
export async function post(path, upload, jsonName, jsonPart, accept = "application/json") {
  const form = new FormData();
  form.append("image", upload.file, upload.name || "photo");
  form.append(jsonName, new Blob([JSON.stringify(jsonPart)], {type: "application/json"}));
  const headers = {"X-Geoloc-Timeout-Ms": String(TIMEOUT_MS), Accept: accept};
  if (upload.token) headers.Authorization = "Bearer " + upload.token;
  let response;
  try {
    response = await fetch(path, {method: "POST", body: form, headers});
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
