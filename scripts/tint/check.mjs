#!/usr/bin/env node
// check.mjs DIR: compile every WGSL shader in DIR with Dawn/Tint (headless Chromium's
// WebGPU on SwiftShader) and create a compute pipeline for every (entry point, override
// constants) of DIR/pipelines.jsonl, plus every @compute entry point of a shader that
// the manifest does not mention (with no constants).
//
//   DIR/<name>.wgsl        the sources, exactly as the crate compiles them
//   DIR/pipelines.jsonl    optional: {"shader":"pool2d.wgsl","entry":"pool2d4v",
//                          "constants":{"KW":3,"PW":0,"SW":2}} per line, duplicates allowed
//
// Prints the adapter once, every compilation warning, one line per failure, then
// "N passed, M failed" (pipelines). Exits 0 only when every shader compiled and every
// pipeline was created; 1 on any failure, 2 on a setup failure (no adapter, no browser,
// no shaders, timeout). Nothing is skipped but the native f16 forms (`enable f16;`) on
// an adapter without shader-f16 (SwiftShader's), which Tint cannot compile there: they
// are counted on a line of their own, and their packed forms are compiled.
//
// Environment: CHROMIUM (default /usr/bin/chromium), TINT_CHECK_TIMEOUT_S (whole run,
// default 1200), TINT_CHECK_PIPELINE_TIMEOUT_S (one pipeline, default 120),
// TINT_CHECK_VERBOSE=1 (a line per pipeline that passed too).

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RUN_TIMEOUT_S = Number(process.env.TINT_CHECK_TIMEOUT_S || 1200);
const PIPELINE_TIMEOUT_S = Number(process.env.TINT_CHECK_PIPELINE_TIMEOUT_S || 120);
const VERBOSE = process.env.TINT_CHECK_VERBOSE === '1';
const JOBS = Number(process.env.TINT_CHECK_JOBS || Math.min(2, os.availableParallelism()));
const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan,WebGPU',
  '--use-vulkan=native',
  '--use-webgpu-adapter=swiftshader',
];

const oneLine = (s) => String(s).trim().replace(/\s*\n\s*/g, ' | ');

function usage(msg) {
  console.error(`check.mjs: ${msg}\nusage: node check.mjs DIR`);
  process.exit(2);
}

// The source with the `enable subgroups;` directive WGSL requires of a shader that
// calls subgroup builtins: Tint requires it, while naga (wgpu 30) takes those builtins
// under the device's SUBGROUP feature and rejects the directive, so the crate's sources
// leave it out. Nothing else is changed.
function withEnables(src) {
  const code = src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
  const uses = /\bsubgroup[A-Z][A-Za-z]*\s*\(/.test(code);
  return uses && !/^\s*enable\s+subgroups\s*;/m.test(code) ? `enable subgroups;\n${src}` : src;
}

// The entry points of `@compute` functions, comments removed first.
function computeEntries(src) {
  const code = src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
  const out = [];
  for (const m of code.matchAll(/@compute\b[^{;]*?\bfn\s+([A-Za-z_][A-Za-z0-9_]*)/g)) out.push(m[1]);
  return out;
}

// {shaders: [{name, source, pipelines: [{entry, constants}]}], unknown: [...]} from DIR.
function loadJob(dir) {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) usage(`${dir} is not a directory`);
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.wgsl')).sort();
  if (names.length === 0) usage(`no .wgsl file in ${dir}`);
  const shaders = new Map(
    names.map((name) => [name, { name, source: withEnables(fs.readFileSync(path.join(dir, name), 'utf8')), pipelines: [] }]),
  );
  const seen = new Set();
  const problems = [];
  const manifest = path.join(dir, 'pipelines.jsonl');
  let lines = 0;
  if (fs.existsSync(manifest)) {
    fs.readFileSync(manifest, 'utf8').split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      lines++;
      let rec;
      try {
        rec = JSON.parse(line);
      } catch (e) {
        problems.push(`pipelines.jsonl:${i + 1}: not JSON: ${e.message}`);
        return;
      }
      const name = path.basename(String(rec.shader ?? ''));
      const entry = rec.entry;
      const constants = rec.constants ?? {};
      if (typeof entry !== 'string' || typeof constants !== 'object' || Array.isArray(constants)) {
        problems.push(`pipelines.jsonl:${i + 1}: want {"shader","entry","constants"}: ${line}`);
        return;
      }
      const shader = shaders.get(name);
      if (!shader) {
        problems.push(`pipelines.jsonl:${i + 1}: ${name}: no such shader in ${dir}`);
        return;
      }
      const sorted = Object.fromEntries(Object.entries(constants).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const key = `${name}\0${entry}\0${JSON.stringify(sorted)}`;
      if (seen.has(key)) return;
      seen.add(key);
      shader.pipelines.push({ entry, constants: sorted });
    });
  }
  let implicit = 0;
  for (const shader of shaders.values()) {
    const named = new Set(shader.pipelines.map((p) => p.entry));
    for (const entry of computeEntries(shader.source)) {
      if (named.has(entry)) continue;
      named.add(entry);
      shader.pipelines.push({ entry, constants: {} });
      implicit++;
    }
  }
  return { shaders: [...shaders.values()], problems, lines, unique: seen.size, implicit };
}

// Runs in the page: returns {adapter, device, results} or {fatal}; streams each result
// through window.tintReport as it comes.
async function pageCheck({ shaders, pipelineTimeoutMs, jobs }) {
  const report = (r) => window.tintReport(r);
  if (!navigator.gpu) return { fatal: 'navigator.gpu is missing (no WebGPU in this browser/context)' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { fatal: 'navigator.gpu.requestAdapter() returned null: no WebGPU adapter' };
  let info = adapter.info;
  if (!info && adapter.requestAdapterInfo) info = await adapter.requestAdapterInfo();
  const adapterInfo = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
  const requiredFeatures = ['shader-f16', 'subgroups'].filter((f) => adapter.features.has(f));
  const all = {};
  for (const k in adapter.limits) if (typeof adapter.limits[k] === 'number') all[k] = adapter.limits[k];
  const core = [
    'maxStorageBufferBindingSize', 'maxUniformBufferBindingSize', 'maxBufferSize',
    'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ',
    'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage',
    'maxUniformBuffersPerShaderStage', 'maxBindingsPerBindGroup', 'maxBindGroups',
  ];
  let device;
  let limitsNote = 'all adapter limits';
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits: all });
  } catch (e) {
    limitsNote = `compute limits only (all limits refused: ${e.message})`;
    const some = {};
    for (const k of core) if (k in all) some[k] = all[k];
    try {
      device = await adapter.requestDevice({ requiredFeatures, requiredLimits: some });
    } catch (e2) {
      return { fatal: `requestDevice failed: ${e2.message}`, adapter: adapterInfo };
    }
  }
  const uncaptured = [];
  device.addEventListener('uncapturederror', (ev) => uncaptured.push(ev.error.message));
  let lost = null;
  device.lost.then((l) => { lost = `${l.reason}: ${l.message}`; });
  const deviceInfo = {
    features: [...device.features].sort(),
    limitsNote,
    limits: Object.fromEntries(core.filter((k) => k in all).map((k) => [k, device.limits[k]])),
  };
  await report({ kind: 'adapter', adapter: adapterInfo, device: deviceInfo });
  const withTimeout = (p, what) => {
    let t;
    const timer = new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what} took over ${pipelineTimeoutMs / 1000} s`)), pipelineTimeoutMs);
    });
    return Promise.race([p, timer]).finally(() => clearTimeout(t));
  };

  for (const shader of shaders) {
    // a native f16 form (`enable f16;`) needs shader-f16: on an adapter without it
    // Tint refuses the module before reading it, so it is counted apart, not compiled
    if (/^\s*enable f16;/m.test(shader.source) && !device.features.has('shader-f16')) {
      await report({ kind: 'no-f16', shader: shader.name, pipelines: shader.pipelines.length });
      continue;
    }
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: shader.name, code: shader.source });
    let messages = [];
    try {
      const ci = await withTimeout(module.getCompilationInfo(), `${shader.name} compilation`);
      messages = ci.messages.map((m) => ({ type: m.type, line: m.lineNum, col: m.linePos, message: m.message }));
    } catch (e) {
      messages.push({ type: 'error', line: 0, col: 0, message: `getCompilationInfo: ${e.message}` });
    }
    const scoped = await device.popErrorScope();
    if (scoped && !messages.some((m) => m.type === 'error')) {
      messages.push({ type: 'error', line: 0, col: 0, message: scoped.message });
    }
    await report({ kind: 'shader', shader: shader.name, messages });

    // `jobs` pipelines in flight at once (Dawn compiles async pipelines on worker
    // threads). Each error scope is pushed and popped around the synchronous call only,
    // so concurrent pipelines never share one; the creation's own failures reject its
    // promise (GPUPipelineError).
    const one = async (p) => {
      await report({ kind: 'start', shader: shader.name, entry: p.entry, constants: p.constants });
      const t0 = performance.now();
      const errors = [];
      device.pushErrorScope('validation');
      const created = device.createComputePipelineAsync({
        label: `${shader.name}:${p.entry}`,
        layout: 'auto',
        compute: { module, entryPoint: p.entry, constants: p.constants },
      });
      const scope = device.popErrorScope();
      try {
        await withTimeout(created, 'createComputePipelineAsync');
      } catch (e) {
        errors.push(`${e.name}: ${e.message}`);
      }
      const err = await scope;
      if (err) errors.push(err.message);
      if (lost) errors.push(`device lost: ${lost}`);
      await report({
        kind: 'pipeline', shader: shader.name, entry: p.entry, constants: p.constants,
        errors, ms: Math.round(performance.now() - t0),
      });
    };
    const queue = [...shader.pipelines];
    const worker = async () => {
      while (queue.length) await one(queue.shift());
    };
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  }
  await device.queue.onSubmittedWorkDone();
  return { adapter: adapterInfo, device: deviceInfo, uncaptured, lost };
}

function printAdapter(a) {
  console.log(
    `adapter: vendor=${a.vendor || '?'} architecture=${a.architecture || '?'} ` +
      `device=${a.device || '?'} description=${a.description || '?'}`,
  );
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>wgcnn tint check</title><p>wgcnn tint check</p>';

async function main() {
  const dir = process.argv[2];
  if (!dir || process.argv.length > 3) usage('want exactly one argument, DIR');
  const job = loadJob(path.resolve(dir));
  const total = job.shaders.reduce((n, s) => n + s.pipelines.length, 0);
  console.log(
    `tint check: ${job.shaders.length} shaders, ${total} pipelines ` +
      `(${job.unique} from ${job.lines} manifest lines, ${job.implicit} entry points with no constants)`,
  );

  let passed = 0;
  let failed = 0;
  const noF16 = { shaders: 0, pipelines: 0 };
  let shaderFailures = 0;
  let setupFailure = null;
  let browser = null;
  let server = null;
  const started = Date.now();

  const cleanup = async () => {
    if (browser) {
      const b = browser;
      browser = null;
      await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
    }
    if (server) {
      server.closeAllConnections?.();
      server.close();
      server = null;
    }
  };
  const inFlight = new Set();
  let timedOut = false;
  const watchdog = setTimeout(async () => {
    timedOut = true;
    console.log(`FAIL timeout: the run took over ${RUN_TIMEOUT_S} s`);
    for (const what of inFlight) console.log(`FAIL pipeline ${what}: still being created at the timeout`);
    console.log(`${passed} passed, ${total - passed} failed`);
    await cleanup();
    process.exit(2);
  }, RUN_TIMEOUT_S * 1000);

  for (const p of job.problems) {
    console.log(`FAIL manifest ${p}`);
  }

  try {
    server = http.createServer((req, res) => {
      res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(req.url === '/' ? PAGE : 'not found');
    });
    server.keepAliveTimeout = 1000;
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const url = `http://127.0.0.1:${server.address().port}/`;

    if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (set CHROMIUM)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: 60000,
    });
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('crash', () => pageErrors.push('page crashed'));
    await page.exposeFunction('tintReport', (r) => {
      if (r.kind === 'adapter') {
        printAdapter(r.adapter);
        const d = r.device;
        const limits = Object.entries(d.limits).map(([k, v]) => `${k}=${v}`).join(' ');
        console.log(`device: features=[${d.features.join(',')}], ${d.limitsNote}: ${limits}`);
      } else if (r.kind === 'no-f16') {
        noF16.shaders++;
        noF16.pipelines += r.pipelines;
      } else if (r.kind === 'start') {
        inFlight.add(`${r.shader} ${r.entry} ${JSON.stringify(r.constants)}`);
      } else if (r.kind === 'shader') {
        for (const m of r.messages) {
          const where = `${r.shader}:${m.line}:${m.col}`;
          if (m.type === 'error') {
            shaderFailures++;
            console.log(`FAIL shader ${where}: ${oneLine(m.message)}`);
          } else {
            console.log(`${m.type} ${where}: ${oneLine(m.message)}`);
          }
        }
      } else {
        const what = `${r.shader} ${r.entry} ${JSON.stringify(r.constants)}`;
        inFlight.delete(what);
        if (r.errors.length) {
          failed++;
          console.log(`FAIL pipeline ${what}: ${oneLine(r.errors.join(' / '))}`);
        } else {
          passed++;
          if (VERBOSE) console.log(`ok   pipeline ${what} (${r.ms} ms)`);
        }
      }
    });
    await page.goto(url, { timeout: 30000 });
    const res = await page.evaluate(pageCheck, {
      shaders: job.shaders,
      pipelineTimeoutMs: PIPELINE_TIMEOUT_S * 1000,
      jobs: JOBS,
    });
    if (res.fatal && res.adapter) printAdapter(res.adapter);
    if (res.fatal) {
      setupFailure = res.fatal;
    } else {
      for (const e of res.uncaptured) {
        shaderFailures++;
        console.log(`FAIL uncaptured error: ${oneLine(e)}`);
      }
      if (res.lost) {
        shaderFailures++;
        console.log(`FAIL device lost: ${oneLine(res.lost)}`);
      }
    }
    for (const e of pageErrors) {
      shaderFailures++;
      console.log(`FAIL page error: ${oneLine(e)}`);
    }
  } catch (e) {
    if (timedOut) return; // the watchdog reports and exits
    setupFailure = e.message.split('\n')[0];
  } finally {
    if (timedOut) return;
    clearTimeout(watchdog);
    await cleanup();
  }

  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (setupFailure) {
    console.log(`FAIL setup: ${oneLine(setupFailure)}`);
    console.log(`${passed} passed, ${total - passed} failed`);
    process.exit(2);
  }
  const checked = total - noF16.pipelines;
  const missing = checked - passed - failed;
  if (missing) console.log(`FAIL ${missing} pipelines never reported`);
  if (noF16.shaders) {
    console.log(
      `not compiled: ${noF16.shaders} native f16 shaders (${noF16.pipelines} pipelines): ` +
        'this adapter has no shader-f16 (their packed f16 forms are compiled)',
    );
  }
  console.log(`tint check took ${secs} s`);
  console.log(`${passed} passed, ${checked - passed} failed`);
  process.exit(checked - passed || shaderFailures || job.problems.length ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL setup: ${oneLine(e.stack || e)}`);
  process.exit(2);
});
