import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import type { LiveTask } from '../domain/live.js';
import { MetricsRegistry, escapeLabel, renderLive } from './metrics.js';

function live(name: string, statuses: string[]): LiveTask {
  return { name, namespace: 'ns', process: {}, instances: statuses.map((status, i) => ({ pmId: i, pid: status === 'online' ? 100 + i : 0, status, restarts: i, startedAt: 0, unstableRestarts: 0, memory: 1000 * (i + 1), cpu: 1.5 })) };
}

describe('metrics', () => {
  it('[api-metrics] renders counters, gauges and cumulative histogram buckets in the text format', () => {
    const r = new MetricsRegistry();
    r.counter('pm2_gitops_x_total', 'X.').inc({ environment: 'dev', result: 'ok' }, 2);
    r.gauge('pm2_gitops_g', 'G.').set({}, 3);
    const h = r.histogram('pm2_gitops_h_seconds', 'H.', [1, 0.1]);
    h.observe({ environment: 'dev' }, 0.05);
    h.observe({ environment: 'dev' }, 0.5);
    h.observe({ environment: 'dev' }, 5);
    expect(r.render()).toBe([
      '# HELP pm2_gitops_x_total X.', '# TYPE pm2_gitops_x_total counter', 'pm2_gitops_x_total{environment="dev",result="ok"} 2',
      '# HELP pm2_gitops_g G.', '# TYPE pm2_gitops_g gauge', 'pm2_gitops_g 3',
      '# HELP pm2_gitops_h_seconds H.', '# TYPE pm2_gitops_h_seconds histogram',
      'pm2_gitops_h_seconds_bucket{environment="dev",le="0.1"} 1', 'pm2_gitops_h_seconds_bucket{environment="dev",le="1"} 2', 'pm2_gitops_h_seconds_bucket{environment="dev",le="+Inf"} 3',
      'pm2_gitops_h_seconds_sum{environment="dev"} 5.55', 'pm2_gitops_h_seconds_count{environment="dev"} 3', '',
    ].join('\n'));
  });

  it('[api-metrics] escapes label values so that a task name cannot break a line', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const r = new MetricsRegistry();
    r.gauge('pm2_gitops_g', 'G.').set({ task: 'we"ird\nname' }, 1);
    const [family] = parsePrometheusTextFormat(r.render());
    expect(family!.metrics[0]!.labels).toEqual({ task: 'we"ird\nname' });
  });

  it('[api-metrics] counts managed processes by their task\'s state and gives each its CPU, memory and restarts', () => {
    const text = renderLive([{ environment: 'dev', types: new Map([['job', 'job']]), live: [live('web', ['online', 'online']), live('job', ['stopped']), live('api', ['errored'])] }]);
    const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    expect(families.get('pm2_gitops_managed_processes')!.metrics).toEqual([
      { labels: { environment: 'dev', state: 'completed' }, value: '1' },
      { labels: { environment: 'dev', state: 'errored' }, value: '1' },
      { labels: { environment: 'dev', state: 'online' }, value: '2' },
    ]);
    expect(families.get('pm2_gitops_process_memory_bytes')!.metrics).toContainEqual({ labels: { environment: 'dev', task: 'web', pm_id: '1' }, value: '2000' });
    expect(families.get('pm2_gitops_process_cpu_percent')!.metrics).toContainEqual({ labels: { environment: 'dev', task: 'web', pm_id: '0' }, value: '1.5' });
    expect(families.get('pm2_gitops_process_restarts')!.type).toBe('GAUGE');
  });
});
