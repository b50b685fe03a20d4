// validate.mjs - checks the manifests here against the Kubernetes API, offline, in two passes.
//
// 1. Schema: types, required fields, formats, from the Kubernetes OpenAPI definitions as bundled
//    in the npm package kubernetes-models.  Those schemas allow unknown fields (as the API server
//    did before strict field validation), so a misspelt `hostPid:` would pass; hence
// 2. Field names: every document becomes a TypeScript object literal typed with the npm package
//    kubernetes-types, and tsc's excess-property check rejects any field the API does not have,
//    at any depth.
// The YAML is read with the npm package yaml.  Usage: node validate.mjs MODULES_DIR FILE...
// (MODULES_DIR holds node_modules/ with those four packages; validate.sh installs them).
// Exits 1 naming each document that fails and why.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modDir, ...files] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(`${modDir}/node_modules/${p}`).href);
const YAML = await load("yaml/dist/index.js");
// apiVersion -> the package's folder for it ("apps/v1" -> "apps/v1", "v1" -> "v1").
const modelOf = async (apiVersion, kind) => {
  const mod = await load(`kubernetes-models/${apiVersion}/${kind}.js`);
  return mod[kind];
};

let bad = 0, good = 0;
const typed = [];   // [what, apiVersion, kind, obj] for pass 2
for (const file of files) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      console.log(`FAIL ${file}: YAML: ${doc.errors[0].message}`);
      bad++;
      continue;
    }
    const obj = doc.toJS();
    if (!obj) continue;
    const what = `${file}: ${obj.kind} ${obj.metadata?.name ?? "?"}`;
    if (obj.apiVersion?.startsWith("kustomize.config.k8s.io/")) {
      const known = new Set(["apiVersion", "kind", "resources", "namespace", "images", "labels", "commonLabels"]);
      const unknown = Object.keys(obj).filter((k) => !known.has(k));
      if (unknown.length || !Array.isArray(obj.resources)) {
        console.log(`FAIL ${what}: unexpected ${unknown.join(", ") || "resources"}`);
        bad++;
      } else {
        console.log(`ok   ${what}`);
        good++;
      }
      continue;
    }
    let Model;
    try {
      Model = await modelOf(obj.apiVersion, obj.kind);
    } catch {
      console.log(`FAIL ${what}: no schema for ${obj.apiVersion} ${obj.kind}`);
      bad++;
      continue;
    }
    try {
      new Model(obj).validate();
      typed.push([what, obj.apiVersion, obj.kind, obj]);
    } catch (e) {
      console.log(`FAIL ${what}: ${e.message}`);
      bad++;
    }
  }
}
// Pass 2: "apps/v1" -> kubernetes-types/apps/v1, "v1" -> core/v1, "rbac.authorization.k8s.io/v1" -> rbac/v1.
if (typed.length) {
  const dir = mkdtempSync(join(tmpdir(), "memscope-k8s-"));
  const types = `${modDir}/node_modules/kubernetes-types`;
  let ts = "";
  typed.forEach(([, apiVersion, kind, obj], i) => {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
    ts += `import type { ${kind} as T${i} } from ${JSON.stringify(`${types}/${group.split(".")[0]}/${version}`)};\n`;
    ts += `export const doc${i}: T${i} = ${JSON.stringify(obj, null, 1)};\n`;
  });
  writeFileSync(join(dir, "manifests.ts"), ts);
  let out = "";
  try {
    execFileSync(process.execPath, [`${modDir}/node_modules/typescript/bin/tsc`, "--noEmit", "--strict", "--pretty", "false",
      "--skipLibCheck", "--target", "es2020", "--moduleResolution", "node", join(dir, "manifests.ts")],
      { encoding: "utf8" });
  } catch (e) {
    out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
  // tsc names the line; find which document's literal it is in.
  const starts = ts.split("\n").map((l, n) => [l.startsWith("export const doc") ? parseInt(l.slice(16), 10) : -1, n + 1])
    .filter(([i]) => i >= 0);
  const failed = new Map();
  for (const m of out.matchAll(/manifests\.ts\((\d+),\d+\): error (TS\d+: .*)/g)) {
    const line = Number(m[1]);
    const doc = starts.filter(([, n]) => n <= line).pop()?.[0] ?? -1;
    if (!failed.has(doc)) failed.set(doc, m[2]);
  }
  if (out && failed.size === 0) failed.set(-1, out.trim());
  typed.forEach(([what], i) => {
    if (failed.has(i)) {
      console.log(`FAIL ${what}: ${failed.get(i)}`);
      bad++;
    } else {
      console.log(`ok   ${what}`);
      good++;
    }
  });
  if (failed.has(-1)) { console.log(`FAIL tsc: ${failed.get(-1)}`); bad++; }
  rmSync(dir, { recursive: true });
}
console.log(`${good} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
