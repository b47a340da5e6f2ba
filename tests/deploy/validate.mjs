// The Kubernetes manifests in deploy/kubernetes against the Kubernetes API's own schemas
// (npm kubernetes-models: each object's OpenAPI schema, strict), plus what ties them together:
// the CDI spec in the gprio-cdi ConfigMap against the rules of the CDI specification (v0.6.0,
// SPEC.md of cncf-tags/container-device-interface: kind "vendor/class", device names, env as
// KEY=VALUE, absolute mount paths), every cdi.k8s.io annotation naming a device that spec
// defines, the shim the spec preloads lying under a path it mounts, and the DaemonSet
// installing the shim and the spec where the spec and the runtime look for them.
//   node validate.mjs FILE.yaml...        (exit 1 and one line per problem on failure)
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const problems = [];
const bad = (where, what) => problems.push(`${where}: ${what}`);
const docs = [];
for (const file of process.argv.slice(2)) {
  const parsed = parseAllDocuments(readFileSync(file, "utf8"));
  parsed.forEach((d, i) => {
    if (d.errors.length) bad(`${file} document ${i + 1}`, d.errors[0].message);
    else if (d.toJSON() !== null) docs.push({ where: `${file} document ${i + 1}`, obj: d.toJSON() });
  });
}

// 1. each object against its API schema
for (const { where, obj } of docs) {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    bad(where, "no apiVersion/kind");
    continue;
  }
  const gv = apiVersion.includes("/") ? apiVersion : `v1`;
  let Model;
  try {
    Model = (await import(`kubernetes-models/${gv}/${kind}`))[kind];
  } catch {
    bad(where, `unknown kind ${apiVersion} ${kind}`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    bad(`${where} (${kind} ${obj.metadata?.name})`, String(e.message).split("\n")[0]);
  }
}

// 2. the CDI spec
const cm = docs.find((d) => d.obj.kind === "ConfigMap" && d.obj.metadata?.name === "gprio-cdi");
const devices = new Set();
let spec = null;
if (!cm) bad("manifests", "no ConfigMap gprio-cdi (the CDI spec)");
else {
  const text = cm.obj.data?.["gprio.yaml"];
  spec = text ? parseAllDocuments(text)[0].toJSON() : null;
  const w = `${cm.where} data gprio.yaml`;
  if (!spec) bad(w, "missing");
  else {
    if (!/^\d+\.\d+\.\d+$/.test(spec.cdiVersion ?? "")) bad(w, `cdiVersion '${spec.cdiVersion}' is not a version`);
    // vendor: a domain-like name; class: letters, digits, _ and -; both start and end alphanumeric
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\/[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$/.test(spec.kind ?? ""))
      bad(w, `kind '${spec.kind}' is not vendor/class`);
    if (!Array.isArray(spec.devices) || !spec.devices.length) bad(w, "no devices");
    const edits = (e, where) => {
      if (!e || typeof e !== "object") return bad(where, "no containerEdits");
      for (const v of e.env ?? []) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(v)) bad(where, `env '${v}' is not KEY=VALUE`);
      for (const m of e.mounts ?? [])
        if (!m.hostPath?.startsWith("/") || !m.containerPath?.startsWith("/"))
          bad(where, `mount ${JSON.stringify(m)}: paths must be absolute`);
    };
    if (spec.containerEdits) edits(spec.containerEdits, `${w} containerEdits`);
    for (const d of spec.devices ?? []) {
      if (!/^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$/.test(d.name ?? "")) bad(w, `device name '${d.name}'`);
      if (devices.has(d.name)) bad(w, `device ${d.name} twice`);
      devices.add(d.name);
      edits(d.containerEdits, `${w} device ${d.name}`);
      const cls = (d.containerEdits?.env ?? []).find((v) => v.startsWith("GPRIO_CLASS="));
      if (!cls || !["online", "offline"].includes(cls.slice(12))) bad(w, `device ${d.name}: GPRIO_CLASS online or offline`);
    }
    const env = spec.containerEdits?.env ?? [];
    const pre = env.find((v) => v.startsWith("LD_PRELOAD="))?.slice(11);
    const mounts = spec.containerEdits?.mounts ?? [];
    if (!pre) bad(w, "no LD_PRELOAD of the shim");
    else if (!mounts.some((m) => pre.startsWith(m.containerPath + "/"))) bad(w, `${pre} is under no mount`);
    const shmv = env.find((v) => v.startsWith("GPRIO_SHM="))?.slice(10) ?? "/run/gprio/ctl";
    if (!mounts.some((m) => shmv.startsWith(m.containerPath + "/"))) bad(w, `GPRIO_SHM ${shmv} is under no mount`);
  }
}

// 3. annotations name devices the spec defines
for (const { where, obj } of docs) {
  const tpl = obj.kind === "Pod" ? obj : obj.spec?.template;
  for (const [k, v] of Object.entries(tpl?.metadata?.annotations ?? {})) {
    if (!k.startsWith("cdi.k8s.io/")) continue;
    for (const dev of String(v).split(",")) {
      const [kind, name] = dev.trim().split("=");
      if (!spec || kind !== spec.kind || !devices.has(name)) bad(where, `annotation ${k}: ${dev} is no device of the gprio CDI spec`);
    }
  }
}

// 4. the DaemonSet installs the shim and the spec where they are expected, and mounts the
//    socket directory the spec hands to containers
const ds = docs.find((d) => d.obj.kind === "DaemonSet" && d.obj.metadata?.name === "gpriod");
if (!ds) bad("manifests", "no DaemonSet gpriod");
else if (spec) {
  const ps = ds.obj.spec.template.spec;
  const hostPaths = Object.fromEntries((ps.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath.path]));
  const hostOf = (c, path) => {
    for (const m of c.volumeMounts ?? [])
      if (path === m.mountPath || path.startsWith(m.mountPath + "/"))
        return hostPaths[m.name] ? hostPaths[m.name] + path.slice(m.mountPath.length) : null;
    return null;
  };
  const mounts = spec.containerEdits?.mounts ?? [];
  const shimDir = mounts.find((m) => m.containerPath === "/opt/gprio/lib")?.hostPath;
  const init = (ps.initContainers ?? []).find((c) => c.name === "install");
  const script = (init?.args ?? []).join(" ");
  const dests = [...script.matchAll(/(?:cp|mv) \S+ (\S+)/g)].map((m) => hostOf(init, m[1]));
  if (!init || !dests.includes(`${shimDir}/libgprio-cuda.so`)) bad(ds.where, `the install container does not put the shim in ${shimDir}`);
  if (!init || !dests.includes("/etc/cdi/gprio.yaml")) bad(ds.where, "the install container does not write /etc/cdi/gprio.yaml");
  const d = ps.containers.find((c) => c.name === "gpriod");
  const run = mounts.find((m) => m.containerPath === "/run/gprio")?.hostPath;
  if (!d || hostOf(d, "/run/gprio") !== run) bad(ds.where, `gpriod does not serve the host's ${run}`);
  if (ps.hostPID !== true) bad(ds.where, "hostPID: gpriod reads other pods' processes in the node's PID namespace");
}

if (problems.length) {
  for (const p of problems) console.log(`FAIL - ${p}`);
  process.exit(1);
}
console.log(`ok   - ${docs.length} objects valid against the Kubernetes API schemas; CDI spec with ${devices.size} devices; annotations, shim, spec and socket paths agree`);
