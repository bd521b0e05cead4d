/**
 * Render throughput: a generated manifest repository of 2,000 Tasks (fork and
 * cluster services, jobs, a dependsOn DAG, labels, env, health checks) and
 * three Environments (dev, staging, prod) that differ through JSON Patches by
 * name, merge patches by label selector, common env and namePrefix.
 * One run loads, renders and validates all three environments with
 * `loadDesiredState`, exactly as `pm2-gitops render` does for each.
 * Targets: a full run under 500 ms, peak RSS under 150 MB; output byte-identical
 * between runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const TASKS = 2000;
const TEAMS = 20;
const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
const WARMUP = 2;
const RUNS = 9;
const TARGET_MS = 500;
const TARGET_RSS_MB = 150;

/** Small deterministic PRNG (mulberry32) so every run generates the same repository. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'fork' | 'cluster' | 'job';
interface Generated { name: string; kind: Kind; team: string; tier: string; doc: Record<string, unknown> }

const TIERS = ['web', 'api', 'worker', 'data', 'edge'];

function generateTasks(): Generated[] {
  const rand = prng(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const out: Generated[] = [];
  for (let i = 0; i < TASKS; i++) {
    const r = rand();
    const kind: Kind = r < 0.3 ? 'job' : r < 0.65 ? 'fork' : 'cluster';
    const team = `team-${String(i % TEAMS).padStart(2, '0')}`;
    const tier = kind === 'job' ? 'data' : pick(TIERS);
    const name = `${kind === 'job' ? 'job' : tier}-${String(i).padStart(4, '0')}`;
    // Dependencies only point at earlier tasks: the graph is a DAG by construction.
    const deps = new Set<string>();
    const count = i === 0 ? 0 : Math.floor(rand() * 4);
    for (let d = 0; d < count; d++) deps.add(out[Math.max(0, i - 1 - Math.floor(rand() * Math.min(i, 150)))]!.name);
    const port = 20000 + i;
    const env: Record<string, unknown> = { PORT: String(port), TEAM: team, TIER: tier, FEATURE_FLAGS: `f${i % 7},f${i % 11}` };
    if (i % 3 === 0) env.WORKERS = 2 + (i % 5);
    if (i % 4 === 0) env.VERBOSE = i % 8 === 0;
    const process: Record<string, unknown> = kind === 'job'
      ? { script: 'apps/job.cjs', args: ['--batch', String(i)], env }
      : { script: i % 5 === 0 ? 'service.cjs' : 'apps/service.cjs', ...(i % 5 === 0 ? { cwd: 'apps' } : {}), exec_mode: kind, ...(kind === 'cluster' ? { instances: 2 } : {}), env, max_memory_restart: '256M', kill_timeout: 3000 };
    const health = kind === 'job' ? undefined
      : i % 3 === 0 ? { tcp: { port }, timeoutSeconds: 20 }
      : { http: { url: `http://127.0.0.1:${port}/healthz`, expectStatus: 200 }, timeoutSeconds: 30, minUptimeSeconds: 1 };
    const doc = {
      apiVersion: 'pm2-gitops/v1',
      kind: 'Task',
      metadata: {
        name,
        labels: { tier, team, zone: `z${i % 3}`, ...(i % 10 === 0 ? { canary: 'true' } : {}) },
        context: { intent: `Run ${name} for ${team}`, stakeholders: [team, 'sre'], risk: pick(['low', 'medium', 'high']) },
      },
      spec: {
        type: kind === 'job' ? 'job' : 'service',
        ...(deps.size ? { dependsOn: [...deps].sort() } : {}),
        ...(health ? { health } : {}),
        process,
      },
    };
    out.push({ name, kind, team, tier, doc });
  }
  return out;
}

function environment(name: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: 'pm2-gitops/v1', kind: 'Environment', metadata: { name }, spec }, { lineWidth: 0 });
}

function environments(tasks: Generated[]): Record<string, string> {
  const cluster = tasks.filter((t) => t.kind === 'cluster');
  const services = tasks.filter((t) => t.kind !== 'job');
  const httpServices = services.filter((t) => (t.doc.spec as { health?: { http?: unknown } }).health?.http);
  const base = { resources: ['../../base'] };
  const teamMerge = (team: string, envValues: Record<string, unknown>) => ({ target: { labels: { team } }, merge: { spec: { process: { env: envValues } } } });
  return {
    dev: environment('dev', {
      ...base,
      namespace: 'bench-dev',
      env: { NODE_ENV: 'development', LOG_LEVEL: 'debug' },
      patches: [
        ...cluster.slice(0, 40).map((t) => ({ target: { name: t.name }, patch: [{ op: 'replace', path: '/spec/process/instances', value: 1 }] })),
        { target: { labels: { tier: 'web' } }, merge: { spec: { process: { env: { DEBUG: '1' } } } } },
        { target: { labels: { canary: 'true' } }, merge: { spec: { health: null } } },
      ],
      policy: { prune: true, selfHeal: true },
    }),
    staging: environment('staging', {
      ...base,
      namespace: 'bench-staging',
      namePrefix: 'stg-',
      env: { NODE_ENV: 'staging', LOG_LEVEL: 'info', REGION: 'eu-west-1' },
      requiredContext: ['intent', 'stakeholders'],
      patches: [
        ...services.slice(0, 60).map((t) => ({ target: { name: t.name }, patch: [
          { op: 'replace', path: '/spec/process/env/PORT', value: String(30000 + Number(t.name.slice(-4))) },
          { op: 'add', path: '/spec/process/max_restarts', value: 5 },
        ] })),
        ...Array.from({ length: TEAMS }, (_, i) => teamMerge(`team-${String(i).padStart(2, '0')}`, { QUEUE: `stg-q${i}` })),
      ],
      policy: { prune: true, selfHeal: true, rollback: true, approvals: { required: 1 } },
    }),
    prod: environment('prod', {
      ...base,
      namespace: 'bench-prod',
      env: { NODE_ENV: 'production', LOG_LEVEL: 'warn', REGION: 'eu-west-1' },
      requiredContext: ['intent', 'stakeholders', 'risk'],
      patches: [
        ...cluster.slice(0, 80).map((t) => ({ target: { name: t.name }, patch: [
          { op: 'replace', path: '/spec/process/instances', value: 4 },
          { op: 'test', path: '/spec/process/exec_mode', value: 'cluster' },
        ] })),
        ...httpServices.slice(0, 40).map((t) => ({ target: { name: t.name }, patch: [
          { op: 'replace', path: '/spec/health/http/url', value: `https://127.0.0.1:${40000 + Number(t.name.slice(-4))}/ready` },
        ] })),
        { target: { labels: { tier: 'worker' } }, merge: { spec: { process: { env: { FEATURE_FLAGS: null, POLL_MS: '1000' }, max_memory_restart: '512M' } } } },
        { target: { labels: { tier: 'data', zone: 'z0' } }, merge: { spec: { process: { env: { SCHEMA_VERSION: '7' } } } } },
        { target: { labels: { tier: 'edge' } }, merge: { metadata: { labels: { exposure: 'public' } } } },
        ...Array.from({ length: TEAMS }, (_, i) => teamMerge(`team-${String(i).padStart(2, '0')}`, { QUEUE: `prod-q${i}`, SHARD: String(i) })),
      ],
      policy: { prune: true, selfHeal: true, rollback: true, approvals: { required: 2 } },
    }),
  };
}

/** Writes the repository: Task files under `deploy/base/<team>/` (jobs of a team share one multi-document file). */
function writeRepository(root: string, tasks: Generated[]): void {
  const deploy = join(root, 'deploy');
  mkdirSync(join(deploy, 'apps'), { recursive: true });
  writeFileSync(join(deploy, 'apps', 'service.cjs'), "require('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n");
  writeFileSync(join(deploy, 'apps', 'job.cjs'), 'process.exit(0);\n');
  const jobsByTeam = new Map<string, string[]>();
  for (const t of tasks) {
    const dir = join(deploy, 'base', t.team);
    mkdirSync(dir, { recursive: true });
    const text = stringify(t.doc, { lineWidth: 0 });
    if (t.kind === 'job') jobsByTeam.set(t.team, [...(jobsByTeam.get(t.team) ?? []), text]);
    else writeFileSync(join(dir, `${t.name}.yaml`), `# ${t.name}\n${text}`);
  }
  for (const [team, docs] of jobsByTeam) writeFileSync(join(deploy, 'base', team, 'jobs.yaml'), docs.map((d) => `---\n${d}`).join(''));
  for (const [name, text] of Object.entries(environments(tasks))) {
    mkdirSync(join(deploy, 'environments', name), { recursive: true });
    writeFileSync(join(deploy, 'environments', name, 'environment.yaml'), text);
  }
}

/**
 * The measured process: plain node on the built product (dist/), as `pm2-gitops
 * render` runs, so that its peak RSS is the renderer's and not the bench's
 * (the generator and the TypeScript loader stay in the parent).
 * argv: <dist load.js URL> <repo root>; prints one JSON line.
 */
const PROBE = `
import { performance } from 'node:perf_hooks';
const [loadUrl, root] = process.argv.slice(2);
const { loadDesiredState } = await import(loadUrl);
const ENVIRONMENTS = ${JSON.stringify(ENVIRONMENTS)};
const source = { repoRoot: root, path: 'deploy' };
const renderAll = () => ENVIRONMENTS.map((env) => loadDesiredState(source, env));
const baselineMb = process.resourceUsage().maxRSS / 1024;
let first, coldMs = 0, coldRssMb = 0;
for (let i = 0; i < ${WARMUP}; i++) {
  const start = performance.now();
  const states = renderAll();
  if (i === 0) { coldMs = performance.now() - start; coldRssMb = process.resourceUsage().maxRSS / 1024; }
  first ??= JSON.stringify(states);
}
const times = [], cpuTimes = [];
let last = [];
for (let i = 0; i < ${RUNS}; i++) {
  const start = performance.now();
  const cpu = process.cpuUsage();
  last = renderAll();
  const used = process.cpuUsage(cpu);
  times.push(performance.now() - start);
  cpuTimes.push((used.user + used.system) / 1000);
}
const deterministic = first === JSON.stringify(last);
const [dev, staging, prod] = last;
const checks = [
  ['every environment has every task', last.every((s) => s.tasks.length === ${TASKS})],
  ['staging names carry namePrefix', staging.tasks.every((t) => t.name.startsWith('stg-') && t.dependsOn.every((d) => d.startsWith('stg-')))],
  ['common env applied', prod.tasks.every((t) => t.process.env?.NODE_ENV === 'production') && dev.tasks.every((t) => t.process.env?.LOG_LEVEL === 'debug')],
  ['JSON Patch by name applied', prod.tasks.filter((t) => t.process.instances === 4).length === 80],
  ['merge patch by label applied', prod.tasks.filter((t) => t.labels.tier === 'worker').every((t) => t.process.env?.FEATURE_FLAGS === undefined && t.process.env?.POLL_MS === '1000')],
];
const maxRssMb = process.resourceUsage().maxRSS / 1024;
last = first = undefined;
globalThis.gc();
const liveMb = process.memoryUsage().heapUsed / 1048576;
console.log(JSON.stringify({ baselineMb, coldMs, coldRssMb, times, cpuTimes, deterministic, checks, maxRssMb, liveMb }));
`;

interface ProbeResult {
  baselineMb: number; coldMs: number; coldRssMb: number; times: number[]; cpuTimes: number[]; deterministic: boolean;
  checks: Array<[string, boolean]>; maxRssMb: number; liveMb: number;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

function main(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  const root = mkdtempSync(join(tmpdir(), 'pm2gt-bench-render-'));
  try {
    const tasks = generateTasks();
    writeRepository(root, tasks);
    const kinds = (['job', 'fork', 'cluster'] as const).map((k) => tasks.filter((t) => t.kind === k).length);
    const probe = join(root, 'probe.mjs');
    writeFileSync(probe, PROBE);
    const out = execFileSync(process.execPath, ['--expose-gc', probe, pathToFileURL(join(ROOT, 'dist/manifest/load.js')).href, root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out.trim().split('\n').pop()!) as ProbeResult;

    const med = median(r.times);
    const best = Math.min(...r.times);
    const met = med < TARGET_MS && r.maxRssMb < TARGET_RSS_MB;
    const lines = [
      'render benchmark: load + render + validate of every environment (loadDesiredState, as `pm2-gitops render`; plain node on dist/)',
      `  tasks                 : ${TASKS} per environment (${kinds[0]} jobs, ${kinds[1]} fork, ${kinds[2]} cluster)`,
      `  environments          : ${ENVIRONMENTS.length} (${ENVIRONMENTS.join(', ')})`,
      `  runs                  : ${RUNS} after ${WARMUP} warm-up`,
      `  ms per 3-env render   : median ${med.toFixed(1)}, best ${best.toFixed(1)}   (target: under ${TARGET_MS})`,
      `  CPU ms per render     : median ${median(r.cpuTimes).toFixed(1)}`,
      `  first (cold) render   : ${r.coldMs.toFixed(1)} ms (parses every file), peak RSS ${r.coldRssMb.toFixed(1)} MB after it`,
      `  tasks/second          : ${Math.round((TASKS * ENVIRONMENTS.length) / (med / 1000))} (median)`,
      `  peak RSS              : ${r.maxRssMb.toFixed(1)} MB   (target: under ${TARGET_RSS_MB}); ${r.baselineMb.toFixed(1)} MB before the first render`,
      `  live heap after runs  : ${r.liveMb.toFixed(1)} MB after a full GC (modules, parsed files kept for reuse)`,
      `  load average          : ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      `  deterministic output  : ${r.deterministic ? 'yes (two renders byte-identical)' : 'NO (renders differ)'}`,
      ...r.checks.map(([what, ok]) => `  check: ${what.padEnd(34)}: ${ok ? 'ok' : 'FAILED'}`),
      `  targets met           : ${met ? 'yes' : 'no'}`,
    ];
    console.log(lines.join('\n'));
    if (!r.deterministic || r.checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
