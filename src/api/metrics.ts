/**
 * Prometheus metrics (text exposition format 0.0.4), kept in memory: counters,
 * gauges and histograms with labels, fed by the controller's observer, plus
 * the gauges of live PM2 processes computed at each scrape. No I/O here.
 */
import type { LiveTask } from '../domain/live.js';
import { shapeOf } from '../report/status.js';

export type Labels = Record<string, string>;

type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  name: string;
  help: string;
  kind: Kind;
  buckets?: readonly number[];
  /** Label set (canonical key) → value, or bucket counts + sum + count for histograms. */
  series: Map<string, { labels: Labels; value: number; counts?: number[]; sum?: number }>;
}

/** Escapes a label value as the text format wants (backslash, quote, newline). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels, extra?: Labels): string {
  const all = { ...labels, ...extra };
  const keys = Object.keys(all).sort();
  return keys.length ? `{${keys.map((k) => `${k}="${escapeLabel(all[k]!)}"`).join(',')}}` : '';
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

/** A set of metric families, rendered in the order they were declared. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, kind: Kind, buckets?: readonly number[]): Family {
    let f = this.families.get(name);
    if (!f) { f = { name, help, kind, ...(buckets ? { buckets } : {}), series: new Map() }; this.families.set(name, f); }
    return f;
  }

  /** Declares a counter; `inc` adds to one label set. */
  counter(name: string, help: string): { inc(labels: Labels, by?: number): void } {
    const f = this.family(name, help, 'counter');
    return {
      inc: (labels, by = 1) => {
        const s = f.series.get(keyOf(labels));
        if (s) s.value += by; else f.series.set(keyOf(labels), { labels, value: by });
      },
    };
  }

  /** Declares a gauge; `set` replaces one label set's value. */
  gauge(name: string, help: string): { set(labels: Labels, value: number): void } {
    const f = this.family(name, help, 'gauge');
    return { set: (labels, value) => { f.series.set(keyOf(labels), { labels, value }); } };
  }

  /** Declares a histogram with upper bounds `buckets` (+Inf is added). */
  histogram(name: string, help: string, buckets: readonly number[]): { observe(labels: Labels, value: number): void } {
    const f = this.family(name, help, 'histogram', [...buckets].sort((a, b) => a - b));
    return {
      observe: (labels, value) => {
        const key = keyOf(labels);
        let s = f.series.get(key);
        if (!s) { s = { labels, value: 0, counts: f.buckets!.map(() => 0), sum: 0 }; f.series.set(key, s); }
        f.buckets!.forEach((b, i) => { if (value <= b) s!.counts![i]!++; });
        s.value += 1;
        s.sum! += value;
      },
    };
  }

  /** The text exposition of every family. */
  render(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) lines.push(...renderFamily(f));
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}

function renderFamily(f: Family): string[] {
  const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.kind}`];
  for (const s of f.series.values()) {
    if (f.kind !== 'histogram') { lines.push(`${f.name}${labelText(s.labels)} ${num(s.value)}`); continue; }
    f.buckets!.forEach((b, i) => lines.push(`${f.name}_bucket${labelText(s.labels, { le: num(b) })} ${s.counts![i]}`));
    lines.push(`${f.name}_bucket${labelText(s.labels, { le: '+Inf' })} ${s.value}`);
    lines.push(`${f.name}_sum${labelText(s.labels)} ${num(s.sum!)}`);
    lines.push(`${f.name}_count${labelText(s.labels)} ${s.value}`);
  }
  return lines;
}

/** One environment's live processes at scrape time. */
export interface LiveEnvironment {
  environment: string;
  /** Task name → type, for the shape of jobs. */
  types: ReadonlyMap<string, 'service' | 'job'>;
  live: readonly LiveTask[];
}

/**
 * The gauges of live processes: managed processes by state (the task's
 * shape), and each process's CPU and memory as PM2's monitor data says.
 */
export function renderLive(envs: readonly LiveEnvironment[]): string {
  const registry = new MetricsRegistry();
  const byState = registry.gauge('pm2_gitops_managed_processes', 'Processes of managed tasks, by the state of their task.');
  const cpu = registry.gauge('pm2_gitops_process_cpu_percent', 'CPU use of each managed process (PM2 monitor data), in percent of one core.');
  const memory = registry.gauge('pm2_gitops_process_memory_bytes', 'Resident memory of each managed process (PM2 monitor data), in bytes.');
  const restarts = registry.gauge('pm2_gitops_process_restarts', 'Restarts PM2 counted for each managed process.');
  for (const env of envs) {
    const counts = new Map<string, number>();
    for (const task of env.live) {
      const state = shapeOf(task, env.types.get(task.name) ?? 'service');
      counts.set(state, (counts.get(state) ?? 0) + task.instances.length);
      for (const i of task.instances) {
        const labels = { environment: env.environment, task: task.name, pm_id: String(i.pmId) };
        cpu.set(labels, i.cpu ?? 0);
        memory.set(labels, i.memory ?? 0);
        restarts.set(labels, i.restarts);
      }
    }
    for (const [state, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) byState.set({ environment: env.environment, state }, n);
  }
  return registry.render();
}
