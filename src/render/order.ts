import type { DesiredTask } from '../domain/manifest.js';

/** One task being visited: its dependencies (sorted) and how many of them were looked at. */
interface Frame { task: DesiredTask; deps: string[]; next: number }

/**
 * Orders tasks so every task comes after its dependencies; ties break by
 * name, so the order is deterministic. A depth-first walk with an explicit
 * stack: a chain of many thousand tasks would overflow the call stack of a
 * recursive one. Assumes no cycles (validation rejects them), and never loops on one.
 */
export function orderByDependencies(tasks: readonly DesiredTask[]): DesiredTask[] {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const done = new Set<string>();
  const onPath = new Set<string>();
  const out: DesiredTask[] = [];
  const frame = (task: DesiredTask): Frame => {
    onPath.add(task.name);
    return { task, deps: [...task.dependsOn].sort(), next: 0 };
  };
  for (const root of [...tasks].sort((a, b) => a.name.localeCompare(b.name))) {
    if (done.has(root.name)) continue;
    const stack = [frame(root)];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.deps.length) {
        const dep = byName.get(top.deps[top.next++]!);
        if (dep && !done.has(dep.name) && !onPath.has(dep.name)) stack.push(frame(dep));
        continue;
      }
      stack.pop();
      onPath.delete(top.task.name);
      done.add(top.task.name);
      out.push(top.task);
    }
  }
  return out;
}
