import type { DesiredTask } from '../domain/manifest.js';

/**
 * Orders tasks so every task comes after its dependencies; ties break by
 * name, so the order is deterministic. Assumes no cycles (validation rejects them).
 */
export function orderByDependencies(tasks: readonly DesiredTask[]): DesiredTask[] {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const done = new Set<string>();
  const out: DesiredTask[] = [];
  const visit = (task: DesiredTask, path: Set<string>): void => {
    if (done.has(task.name) || path.has(task.name)) return;
    path.add(task.name);
    for (const dep of [...task.dependsOn].sort()) {
      const d = byName.get(dep);
      if (d) visit(d, path);
    }
    done.add(task.name);
    out.push(task);
  };
  for (const task of [...tasks].sort((a, b) => a.name.localeCompare(b.name))) visit(task, new Set());
  return out;
}
