// validate.mjs - checks every JSON answer the integration tests dumped (MEMSCOPE_DUMP_ANSWERS=DIR,
// see tests/integration/harness.c) against server/openapi.json with ajv (JSON Schema 2020-12, as
// OpenAPI 3.1 uses): the answer's path and method must be documented, its status documented (or
// covered by "default"), and its body must match that response's schema.  Prints each mismatch.
// Usage: node validate.mjs OPENAPI.json DUMPDIR
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [docPath, dir] = process.argv.slice(2);
// Local references become references into a schema registered as "doc".
const doc = JSON.parse(readFileSync(docPath, 'utf8').replaceAll('"#/components/', '"doc#/components/'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'doc', components: doc.components });

// One regex per documented path: {cgroup} and {file} may hold slashes, the other parameters not.
const routes = Object.entries(doc.paths).map(([p, ops]) => ({
  p, ops,
  re: new RegExp('^' + p.replace(/[.]/g, '\\.').replace(/\{(cgroup|file)\}/g, '.+').replace(/\{\w+\}/g, '[^/]+') + '$'),
}));
const validators = new Map();
function validatorFor(key, schema) {
  if (!validators.has(key)) validators.set(key, ajv.compile(schema));
  return validators.get(key);
}
function resolve(r) {
  return r && r.$ref ? r.$ref.split('#/')[1].split('/').reduce((o, k) => o[k], doc) : r;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
let bad = 0;
const seen = new Set();
for (const f of files) {
  const a = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const path = a.path.split('?')[0];
  const where = `${a.method} ${a.path} -> ${a.status} (${f})`;
  const route = routes.find((r) => r.re.test(path) && r.ops[a.method.toLowerCase()]);
  let resp;
  if (!route) {
    // No route: the router's own 404/405 must still be the JSON error shape.
    if (a.status !== 404 && a.status !== 405) {
      console.log(`UNDOCUMENTED ${where}`);
      bad++;
      continue;
    }
    resp = resolve(doc.components.responses.Error);
  } else {
    const op = route.ops[a.method.toLowerCase()];
    resp = resolve(op.responses[String(a.status)]);
    if (!resp && a.status < 400) {
      console.log(`UNDOCUMENTED STATUS ${where}: ${route.p} documents ${Object.keys(op.responses).join(', ')}`);
      bad++;
      continue;
    }
    resp = resp || resolve(op.responses.default);
    seen.add(`${a.method} ${route.p}`);
  }
  const schema = resp && resp.content && resp.content['application/json'] && resp.content['application/json'].schema;
  if (!schema) {
    console.log(`NOT JSON IN DOCUMENT ${where}`);
    bad++;
    continue;
  }
  const v = validatorFor(JSON.stringify(schema), schema);
  if (!v(a.body)) {
    bad++;
    console.log(`MISMATCH ${where}`);
    for (const e of v.errors.slice(0, 8))
      console.log(`  ${e.instancePath || '/'} ${e.message} ${e.params ? JSON.stringify(e.params) : ''}`);
  }
}
console.log(`${files.length} answers checked, ${bad} not as documented; operations seen: ${seen.size}`);
if (files.length === 0) {
  console.log('no answers were dumped: the integration tests did not run');
  process.exit(1);
}
process.exit(bad ? 1 : 0);
