// Browser tests of the operator console (docs/CONSOLE.md): playwright-core drives Debian's chromium
// headless against a real geolocd on loopback that serves the console and the HTTP/JSON API on the
// server fixture's model and classified bundle. Screenshots go to $GEOLOC_CONSOLE_ARTIFACTS.
//
// Environment (set by tests/console/CMakeLists.txt):
//   GEOLOCD                the geolocd binary
//   GEOLOC_INDEX, GEOLOC_CELLS, GEOLOC_EVAL  geoloc-index, geoloc-cells and geoloc-eval (the
//                          test's bundle: thumbnails, a classifier, a calibration)
//   GEOLOC_SERVER_FIXTURE  tests/support/make_fixture.sh server's output
//   GEOLOC_CONSOLE_ARTIFACTS  where screenshots and the server log go
//   GEOLOC_SOURCE_DIR      the repository (tools/console_site.sh)
//   CHROMIUM               the browser (default /usr/bin/chromium)
import {after, before, describe, test} from "node:test";
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {chromium} from "playwright-core";
import {startGeolocd} from "./geolocd.mjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`console_test: set ${name}`);
  return value;
};
const fixture = env("GEOLOC_SERVER_FIXTURE");
const artifacts = env("GEOLOC_CONSOLE_ARTIFACTS");
const source = env("GEOLOC_SOURCE_DIR");
const geolocd = env("GEOLOCD");
const geolocIndex = env("GEOLOC_INDEX");
const geolocCells = env("GEOLOC_CELLS");
const geolocEval = env("GEOLOC_EVAL");
// i16b's test gazetteer (GeoNames places, London among them).
const gazetteer = path.join(source, "tests/places/testdata/places.gaz");
const TOKEN = "console-test-token";
// The flags GUIDE.md found to work here: without the background-networking ones Chromium floods
// the closed network. Playwright adds --headless and a fresh --user-data-dir.
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
// What the console asks for (console/www/app.js LOCATE_OPTIONS), to compare with the API directly.
const LOCATE_OPTIONS = {return_neighbors: true, return_cell_polygons: true, include_thumbnails: true};

// The fixture world's first query photo taken in London (a city the README's screenshot shows
// well, and one the test gazetteer names).
function queryPhoto() {
  const world = path.join(fixture, "world");
  const [header, ...rows] = fs.readFileSync(path.join(world, "query.csv"), "utf8").trim().split("\n");
  const columns = header.split(",");
  const row = rows.map((r) => r.split(",")).find((r) => r[columns.indexOf("city")] === "london");
  if (!row) throw new Error("console_test: no London photo in the fixture's query.csv");
  return path.join(world, row[columns.indexOf("path")]);
}

// Calibrates the test's bundle so that its answers carry confidence regions and probabilities:
// the fixture world's query photos other than the test's own, alternately as the fit split
// ("val") and the conformal split ("calib"), as tools/demo.sh does with its world's splits. Too
// few photos for honest numbers; enough for the console to have regions to draw.
function calibrate(bundle, work) {
  const world = path.join(fixture, "world");
  const [header, ...rows] = fs.readFileSync(path.join(world, "query.csv"), "utf8").trim().split("\n");
  const columns = header.split(",");
  const own = path.relative(world, photo);
  const others = rows.map((r) => r.split(",")).filter((r) => r[columns.indexOf("path")] !== own);
  const splits = {val: others.filter((_, i) => i % 2 === 0), calib: others.filter((_, i) => i % 2 === 1)};
  for (const [split, splitRows] of Object.entries(splits)) {
    const csv = path.join(work, `${split}.csv`);
    fs.writeFileSync(csv, [header, ...splitRows.map((r) => {
      const row = [...r];
      row[columns.indexOf("path")] = path.join(world, row[columns.indexOf("path")]);
      row[columns.indexOf("split")] = split;
      return row.join(",");
    })].join("\n") + "\n");
    execFileSync(geolocEval, ["retrieve", `--model=${fixture}/model.pt`, `--bundle=${bundle}`,
      `--csv=${csv}`, `--out=${path.join(work, split + ".retrieval")}`, "--progress=false",
      "--log_level=warning"], {stdio: ["ignore", "ignore", "inherit"]});
  }
  execFileSync(geolocEval, ["calibrate", `--model=${fixture}/model.pt`, `--bundle=${bundle}`,
    `--fit_retrieval=${path.join(work, "val.retrieval")}`,
    `--calibration_retrieval=${path.join(work, "calib.retrieval")}`, "--estimators=spherical_kde",
    "--progress=false", "--log_level=warning"], {stdio: ["ignore", "ignore", "inherit"]});
}

let server, browser, context, page;
const requests = [];       // every URL the page asked for
const pageErrors = [];     // uncaught exceptions in the page's scripts
const photo = queryPhoto();

async function screenshot(name) {
  await page.screenshot({path: path.join(artifacts, `${name}.png`)});
}
// The API's own answer for the photo, to check the page against.
async function apiLocate(options = LOCATE_OPTIONS) {
  const r = await fetch(server.baseUrl + "v1/locate", {
    method: "POST",
    headers: {"Content-Type": "application/json", Authorization: `Bearer ${TOKEN}`},
    body: JSON.stringify({image: fs.readFileSync(photo).toString("base64"), options}),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}
async function uploadPhoto(file = photo) {
  await page.locator("#file").setInputFiles(file);
  await page.locator("#peaks li").first().waitFor();
  await page.locator("#progress").waitFor({state: "hidden"});
}
// Great-circle distance in km between two LatLng messages.
function km(a, b) {
  const rad = Math.PI / 180;
  const h = Math.sin((b.latitude - a.latitude) * rad / 2) ** 2 + Math.cos(a.latitude * rad) *
            Math.cos(b.latitude * rad) * Math.sin((b.longitude - a.longitude) * rad / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}
// The fixture world's database photos: {latitude, longitude, city}.
function databasePhotos() {
  const [header, ...rows] = fs.readFileSync(path.join(fixture, "world/database.csv"), "utf8").trim().split("\n");
  const columns = header.split(",");
  return rows.map((r) => r.split(",")).map((r) => ({latitude: Number(r[columns.indexOf("lat")]),
    longitude: Number(r[columns.indexOf("lon")]), city: r[columns.indexOf("city")]}));
}
async function setCircle(latitude, longitude, radiusKm, mode = "HARD") {
  if (!(await page.locator("#area").evaluate((d) => d.open))) await page.locator("#area summary").click();
  await page.locator("#area-shape").selectOption("circle");
  await page.locator("#area-lat").fill(String(latitude));
  await page.locator("#area-lng").fill(String(longitude));
  await page.locator("#area-radius").fill(String(radiusKm));
  await page.locator("#area-mode").selectOption(mode);
}
// The JSON parts (options / request) of the page's next API calls, in order: the browser does not
// report multipart bodies holding a file, so the page's fetch is wrapped to read them.
async function recordCalls() {
  await page.evaluate(() => {
    window.sentParts = [];
    if (window.fetchUnwrapped) return;
    window.fetchUnwrapped = window.fetch;
    window.fetch = async (url, init) => {
      if (init && init.body instanceof FormData) {
        const part = init.body.get("options") || init.body.get("request");
        if (part) window.sentParts.push({url: String(url), json: JSON.parse(await part.text())});
      }
      return window.fetchUnwrapped(url, init);
    };
  });
}
const sentParts = () => page.evaluate(() => window.sentParts);
async function locateShowingError() {
  // Hide the last error first, so that the wait below sees this call's.
  await page.evaluate(() => { document.getElementById("error").hidden = true; });
  await page.locator("#file").setInputFiles(photo);
  await page.locator("#error").waitFor({state: "visible"});
  await page.locator("#progress").waitFor({state: "hidden"});
  return page.locator("#error").textContent();
}
const fieldOf = (obj, snake) => obj[snake] ?? obj[snake.replace(/_([a-z])/g, (_, c) => c.toUpperCase())];

before(async () => {
  fs.mkdirSync(artifacts, {recursive: true});
  // Keep the last run's files (bundle, served copy, CSVs) for a look after a failure, no older.
  for (const old of fs.readdirSync(artifacts).filter((n) => n.startsWith("run-"))) {
    fs.rmSync(path.join(artifacts, old), {recursive: true, force: true});
  }
  const work = fs.mkdtempSync(path.join(artifacts, "run-"));
  const site = path.join(work, "site");
  execFileSync(path.join(source, "tools/console_site.sh"),
    [site, "--demo_csv", path.join(fixture, "world/query.csv"), "--demo_count", "5"], {stdio: "inherit"});
  const tokenFile = path.join(work, "tokens");
  fs.writeFileSync(tokenFile, TOKEN + "\n");
  // The fixture world's bundle with neighbour thumbnails, adaptive cells and a classifier head
  // (the fixture's "classified" bundle has no thumbnails); the same steps as make_fixture.sh.
  const bundle = path.join(work, "bundle");
  const run = (tool, args) => execFileSync(tool, args, {stdio: ["ignore", "ignore", "inherit"]});
  run(geolocIndex, ["build", `--model=${fixture}/model.pt`, `--csv=${fixture}/world/database.csv`,
                    `--output=${bundle}`, "--name=console", "--thumbnails", "--encoder_threads=1",
                    "--log_level=warning"]);
  run(geolocCells, ["generate", `--bundle=${bundle}`, "--lvl_start=2", "--lvl_end=10", "--t_min=2",
                    "--t_max=12"]);
  run(geolocCells, ["train", `--bundle=${bundle}`, "--variant=hmc", "--epochs=30", "--hidden=64",
                    "--threads=1", "--progress=false"]);
  calibrate(bundle, work);
  server = await startGeolocd({geolocd, fixture, bundle, consoleDir: site, tokenFile, workDir: work,
                               extraFlags: [`--gazetteer=${gazetteer}`]});
  browser = await chromium.launch({executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
                                   args: CHROMIUM_ARGS});
  context = await browser.newContext({viewport: {width: 1280, height: 800}, acceptDownloads: true});
  page = await context.newPage();
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // File-chooser interception is switched on asynchronously by the first listener: switch it on
  // now, so that the keyboard test's waitForEvent cannot miss a chooser opened right after.
  page.on("filechooser", () => {});
  await page.goto(server.baseUrl);
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    fs.writeFileSync(path.join(artifacts, "geolocd.log"), server.log());
    await server.stop();
  }
});

describe("console", () => {
  test("loads with an offline basemap and asks nothing outside the server", async () => {
    // Natural Earth countries: hundreds of outlines once world-atlas is loaded.
    await page.waitForFunction(() => document.querySelectorAll(".leaflet-overlay-pane path").length > 100);
    assert.equal(await page.title(), "geoloc console");
    const outside = requests.filter((u) => !u.startsWith(server.baseUrl) && !/^(data|blob):/.test(u));
    assert.deepEqual(outside, []);
  });

  test("without a token the API's UNAUTHENTICATED error is shown", async () => {
    await page.locator("#file").setInputFiles(photo);
    await page.locator("#error").waitFor({state: "visible"});
    assert.match(await page.locator("#error").textContent(), /^UNAUTHENTICATED: /);
    assert.equal(await page.locator("#results").isVisible(), false);
  });

  test("upload a query photo: its peaks on the map, ranked, as the API answers", async () => {
    await page.locator("#token").fill(TOKEN);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("geoloc.token")), TOKEN);
    await uploadPhoto();
    assert.equal(await page.locator("#error").isVisible(), false);
    const answer = await apiLocate();
    const peaks = answer.peaks;
    assert.ok(peaks.length > 0);
    assert.equal(await page.locator("#peaks li").count(), peaks.length);
    assert.equal(await page.locator("path.peak").count(), peaks.length);
    const first = peaks[0].location;
    assert.match(await page.locator("#peaks li").first().textContent(),
                 new RegExp(`^1${first.latitude.toFixed(5)}, ${first.longitude.toFixed(5)} · mass`));
    // Peaks sized by mass: the top peak's marker is at least as large as the last one's.
    const radius = (i) => page.locator(`path.peak-${i}`).evaluate((p) => p.getBoundingClientRect().width);
    assert.ok(await radius(0) >= await radius(peaks.length - 1));
    assert.equal(await page.locator("#neighbours li").count(), answer.neighbors.length);
    assert.equal(await page.locator("#classifier-cells li").count(),
                 Math.min(10, fieldOf(answer, "classifier_cells").length));
    assert.match(await page.locator("#versions").textContent(), new RegExp(fieldOf(answer, "model_version")));
    assert.match(await page.locator("#timings").textContent(), /total[0-9.]+ ms/);
    // The best estimate and its spread are drawn, and the legend explains the colours.
    assert.ok(await page.locator(".leaflet-overlay-pane path").count() > peaks.length);
    assert.match(await page.locator("#legend").textContent(), /Cell weight share/);
    await screenshot("console-1280x800");
  });

  test("the named places appear: best estimate, peaks, cells", async () => {
    const answer = await apiLocate();
    const place = fieldOf(answer.best, "place");
    assert.ok(place && place.description, "the server named no place for the best estimate");
    assert.match(place.description, /London/);  // the photo is in London, and so is the estimate
    assert.equal(await page.locator("#best-place").textContent(), place.description);
    const peaks = page.locator("#peaks li");
    for (let i = 0; i < answer.peaks.length; i++) {
      assert.ok((await peaks.nth(i).textContent()).endsWith(answer.peaks[i].place.description));
    }
    assert.ok((await page.locator("#classifier-cells li").first().textContent())
      .includes(fieldOf(answer, "classifier_cells")[0].place.description));
    assert.match(await page.locator("#gazetteer-attribution").textContent(), /GeoNames/);
  });

  test("a calibrated answer: its regions on the map, its probabilities in the panel", async () => {
    const answer = await apiLocate();
    assert.equal(answer.calibrated, true, "the test's bundle should calibrate the answer");
    const drawn = answer.regions.filter((r) => !fieldOf(r, "whole_sphere"))
      .reduce((n, r) => n + r.pieces.length, 0);
    assert.ok(drawn > 0, "no region with an outline in the API's answer");
    assert.equal(await page.locator("path.region").count(), drawn);
    assert.equal(await page.locator("#calibration-block").isVisible(), true);
    // A header row, then one row per threshold.
    assert.equal(await page.locator("#calibration-block tr").count(), answer.within.length + 1);
    assert.match(await page.locator("#calibration-block").textContent(),
                 new RegExp(`P\\(localizable\\) ${(100 * fieldOf(answer, "localizable_probability")).toFixed(1)}%`));
  });

  test("neighbours are listed with their thumbnails", async () => {
    const thumbnails = page.locator("#neighbours li img");
    assert.equal(await thumbnails.count(), await page.locator("#neighbours li").count());
    const sizes = await thumbnails.evaluateAll((imgs) => imgs.map((i) => i.naturalWidth * i.naturalHeight));
    assert.ok(sizes.every((s) => s > 0), `undecodable thumbnails: ${sizes}`);
  });

  test("click a peak on the map: its Grad-CAM overlay beside the photo", async () => {
    // dispatchEvent: peaks may overlap on the map; the test must hit peak 0 itself.
    await page.locator("path.peak-0").dispatchEvent("click");
    await page.locator("#explain-figure").waitFor({state: "visible"});
    await page.locator("#progress").waitFor({state: "hidden"});
    // The page's rank 1 is the server's peak 0.
    assert.match(await page.locator("#explain-caption").textContent(), /^Grad-CAM of peak 1: peak 0 at /);
    const size = await page.locator("#explain").evaluate((img) => [img.naturalWidth, img.naturalHeight]);
    assert.ok(size[0] > 0 && size[1] > 0, `overlay ${size}`);
    await screenshot("console-explain-peak");
  });

  test("keyboard: the photo chooser and a neighbour's explanation without a mouse", async () => {
    await page.locator("#drop").focus();
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Enter")]);
    assert.ok(chooser);
    // Tab goes on to the "Choose a photo…" control, which opens the chooser too.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.id), "file");
    const [second] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Enter")]);
    assert.ok(second);
    await page.locator("#neighbours button").first().focus();
    await page.keyboard.press("Enter");
    await page.locator("#progress").waitFor({state: "hidden"});
    const neighbour = (await apiLocate()).neighbors[0];
    assert.match(await page.locator("#explain-caption").textContent(),
                 new RegExp(`^Grad-CAM of neighbour 1: .*\\b${neighbour.id}\\b`));
    assert.equal(await page.locator("#neighbours button").first().getAttribute("aria-pressed"), "true");
  });

  test("click a classifier cell: its Grad-CAM", async () => {
    const item = page.locator("#classifier-cells button").first();
    const token = (await item.textContent()).split(" ")[0];
    await item.click();
    await page.locator("#progress").waitFor({state: "hidden"});
    assert.equal(await page.locator("#error").isVisible(), false);
    assert.match(await page.locator("#explain-caption").textContent(),
                 new RegExp(`^Grad-CAM of classifier cell ${token}: .*\\b${token}\\b`));
  });

  test("downloads: GeoJSON of the answer and its PIDF-LO", async () => {
    const answer = await apiLocate();
    const [geo] = await Promise.all([page.waitForEvent("download"), page.locator("#download-geojson").click()]);
    const collection = JSON.parse(fs.readFileSync(await geo.path(), "utf8"));
    assert.equal(collection.type, "FeatureCollection");
    const kinds = (k) => collection.features.filter((f) => f.properties.kind === k).length;
    assert.equal(kinds("peak"), answer.peaks.length);
    assert.equal(kinds("best"), 1);
    assert.equal(kinds("neighbor"), answer.neighbors.length);
    const [pidf] = await Promise.all([page.waitForEvent("download"), page.locator("#download-pidf").click()]);
    assert.match(pidf.suggestedFilename(), /\.pidf\.xml$/);
    const xml = fs.readFileSync(await pidf.path(), "utf8");
    assert.match(xml, /urn:ietf:params:xml:ns:pidf/);
    assert.match(xml, /http:\/\/www\.opengis\.net\/gml/);
  });

  test("progress shows while a call runs, and the buttons wait", async () => {
    // Hold the Locate at the browser until the page's state during the call has been checked.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route("**/v1/locate", async (route) => { await held; await route.continue(); });
    try {
      await page.locator("#file").setInputFiles(photo);
      await page.locator("#progress").waitFor({state: "visible"});
      assert.equal(await page.locator("#progress-text").textContent(), "Locating…");
      assert.equal(await page.locator("#random").isDisabled(), true);
      release();
      await page.locator("#progress").waitFor({state: "hidden"});
      assert.equal(await page.locator("#random").isDisabled(), false);
      assert.ok(await page.locator("#peaks li").count() > 0);
    } finally {
      release();
      await page.unroute("**/v1/locate");
    }
  });

  test("drop a photo on the page, or paste one", async () => {
    const bytes = fs.readFileSync(photo).toString("base64");
    const name = path.basename(photo);
    // A DataTransfer holding the photo, as the browser builds one for a drop or a paste.
    const transfer = () => page.evaluateHandle(([b64, fileName]) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], fileName, {type: "image/jpeg"}));
      return dt;
    }, [bytes, name]);
    await page.locator("#drop").dispatchEvent("drop", {dataTransfer: await transfer()});
    await page.locator("#progress").waitFor({state: "hidden"});
    assert.match(await page.locator("#photo-caption").textContent(), new RegExp(`^${name} `));
    assert.ok(await page.locator("#peaks li").count() > 0);
    await page.evaluate(() => { document.getElementById("results").hidden = true; });
    const dt = await transfer();
    await page.evaluate((d) => document.dispatchEvent(new ClipboardEvent("paste", {clipboardData: d})), dt);
    await page.locator("#results").waitFor({state: "visible"});
    await page.locator("#progress").waitFor({state: "hidden"});
    assert.ok(await page.locator("#peaks li").count() > 0);
  });

  test("a text file shows the API's error message", async () => {
    await page.locator("#file").setInputFiles({name: "notes.txt", mimeType: "text/plain",
                                               buffer: Buffer.from("not a photo\n")});
    await page.locator("#error").waitFor({state: "visible"});
    assert.match(await page.locator("#error").textContent(), /^INVALID_ARGUMENT: .+/);
    assert.equal(await page.locator("#results").isVisible(), false);
    await screenshot("console-error");
  });

  test("a random photo from the demo folder is located", async () => {
    await page.locator("#random").click();
    await page.locator("#peaks li").first().waitFor();
    await page.locator("#progress").waitFor({state: "hidden"});
    assert.match(await page.locator("#photo-caption").textContent(), /^images_.+\.jpg \(\d+ KB\)$/);
  });

  test("a hard search area: only neighbours inside it, as the API answers, and explained with it", async () => {
    // A city other than the photo's, so that the area changes the answer.
    const centre = databasePhotos().find((p) => p.city !== "london");
    const radius = 50;
    await setCircle(centre.latitude, centre.longitude, radius);
    assert.match(await page.locator("#area-summary").textContent(), /^50\.0 km around .*, hard filter$/);
    assert.equal(await page.locator("path.search-area").count(), 1);
    await recordCalls();
    await uploadPhoto();
    const area = {circle: {center: {latitude: centre.latitude, longitude: centre.longitude}, radius_km: radius},
                  mode: "HARD"};
    assert.deepEqual((await sentParts()).map((p) => p.json.area), [area]);
    const filtered = await apiLocate({...LOCATE_OPTIONS, area});
    const global = await apiLocate();
    assert.ok(global.neighbors.some((n) => km(n.location, centre) > radius), "the area changes nothing");
    assert.ok(filtered.neighbors.length > 0);
    for (const n of filtered.neighbors) assert.ok(km(n.location, centre) <= radius + 0.01, JSON.stringify(n.location));
    const listed = await page.locator("#neighbours li").allTextContents();
    assert.equal(listed.length, filtered.neighbors.length);
    filtered.neighbors.forEach((n, i) => assert.match(listed[i], new RegExp(`id ${n.id}\\b`)));
    assert.match(await page.locator("#best-area").textContent(), /^Given the search area: 50\.0 km around /);
    // Its Explain asks with the same area: neighbour 1 is the area's first neighbour.
    await page.locator("#neighbours button").first().click();
    await page.locator("#progress").waitFor({state: "hidden"});
    const explained = (await sentParts()).at(-1);
    assert.ok(explained.url.endsWith("v1/explain"), explained.url);
    assert.deepEqual(explained.json.options.area, area);
    assert.match(await page.locator("#explain-caption").textContent(),
                 new RegExp(`^Grad-CAM of neighbour 1: .*\\b${filtered.neighbors[0].id}\\b`));
    await screenshot("console-search-area");
  });

  test("search area: picked on the map, a soft prior, and the API's refusals", async () => {
    await page.locator("#area-shape").selectOption("circle");
    await page.locator("#area-lat").fill("");
    await page.locator("#area-lng").fill("");
    assert.equal(await locateShowingError(), "search area: the centre's latitude is not a number");
    // Picking: a click on the map sets the centre (and explains nothing).
    await page.locator("#area-pick").click();
    assert.equal(await page.locator("#area-pick").getAttribute("aria-pressed"), "true");
    const before = requests.length;
    await page.locator("#map").click({position: {x: 60, y: 300}});
    assert.match(await page.locator("#area-lat").inputValue(), /^-?\d+\.\d{5}$/);
    assert.match(await page.locator("#area-lng").inputValue(), /^-?\d+\.\d{5}$/);
    assert.equal(requests.slice(before).filter((u) => u.endsWith("/v1/explain")).length, 0);
    assert.equal(await page.locator("path.search-area").count(), 1);
    await page.locator("#area-pick").click();
    // A soft prior around the photo's city: an answer, asked with mode SOFT.
    const london = databasePhotos().find((p) => p.city === "london");
    await setCircle(london.latitude, london.longitude, 25, "SOFT");
    await recordCalls();
    await uploadPhoto();
    assert.equal(await page.locator("#error").isVisible(), false);
    const soft = (await sentParts())[0].json.area;
    assert.deepEqual(soft, {circle: {center: {latitude: london.latitude, longitude: london.longitude},
                                     radius_km: 25}, mode: "SOFT"});
    const answer = await apiLocate({...LOCATE_OPTIONS, area: soft});
    assert.equal(await page.locator("#peaks li").count(), answer.peaks.length);
    // The server's refusals, shown as it words them: no database photo inside a hard area, a
    // polygon of two vertices.
    await setCircle(0, -150, 1);  // the middle of the Pacific
    assert.match(await locateShowingError(), /^FAILED_PRECONDITION: .+/);
    await page.locator("#area-shape").selectOption("polygon");
    await page.locator("#area-vertices").fill("10, 10\n11, 11");
    assert.match(await page.locator("#area-summary").textContent(), /^polygon of 2 vertices, hard filter$/);
    assert.match(await locateShowingError(), /^INVALID_ARGUMENT: .+/);
    await page.locator("#area-clear").click();
    assert.equal(await page.locator("#area-summary").textContent(), "whole world");
    assert.equal(await page.locator("path.search-area").count(), 0);
    await page.locator("#area summary").click();  // closed again, as the layout tests expect
  });

  for (const [width, height] of [[1280, 800], [1024, 768], [768, 1024]]) {
    test(`fits ${width}x${height}`, async () => {
      await page.setViewportSize({width, height});
      await uploadPhoto();
      const box = await page.evaluate(() => {
        const rect = (id) => document.getElementById(id).getBoundingClientRect();
        const m = rect("map");
        return {scrollWidth: document.documentElement.scrollWidth,
                scrollHeight: document.documentElement.scrollHeight,
                map: [m.width, m.height], results: rect("results").right, input: rect("drop").right};
      });
      assert.ok(box.scrollWidth <= width, `horizontal overflow ${JSON.stringify(box)}`);
      assert.ok(box.map[0] >= 300 && box.map[1] >= 300, `map too small ${JSON.stringify(box)}`);
      assert.ok(box.results <= width && box.input <= width, JSON.stringify(box));
      // On the laptop screen everything is on one screen: the panels scroll, not the page.
      if (width === 1280) assert.ok(box.scrollHeight <= height, JSON.stringify(box));
      await screenshot(`console-${width}x${height}`);
    });
  }

  test("in all of the above: no uncaught exception, no request outside the server", () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith(server.baseUrl) && !/^(data|blob):/.test(u)), []);
  });
});
