import { describe, expect, it } from 'vitest';
import type { DesiredTask } from '../domain/manifest.js';
import { dependencyLevels, type PlanTask } from '../plan/plan.js';
import { orderByDependencies } from './order.js';

function task(name: string, dependsOn: string[] = []): DesiredTask {
  return { name, sourceName: name, file: `base/${name}.yaml`, type: 'service', dependsOn, labels: {}, context: {}, process: { script: `${name}.js` } };
}

function planTask(name: string, dependsOn: string[] = []): PlanTask {
  return { name, type: 'service', dependsOn, execMode: 'fork', instances: 1, specDigest: '' };
}

/** The graph used below: db and cache are independent roots; api needs both; web and admin need api; report needs db only. */
const GRAPH: Array<[string, string[]]> = [
  ['web', ['api']],
  ['api', ['db', 'cache']],
  ['report', ['db']],
  ['admin', ['api', 'db']],
  ['db', []],
  ['cache', []],
];

function assertTopological(order: string[], graph: Array<[string, string[]]>): void {
  for (const [name, deps] of graph) {
    for (const dep of deps) expect(order.indexOf(dep), `${dep} before ${name}`).toBeLessThan(order.indexOf(name));
  }
}

describe('orderByDependencies', () => {
  it('puts every task after its dependencies, breaking ties by name', () => {
    const order = orderByDependencies(GRAPH.map(([n, d]) => task(n, d))).map((t) => t.name);
    expect(order).toHaveLength(GRAPH.length);
    assertTopological(order, GRAPH);
    expect(order).toEqual(['cache', 'db', 'api', 'admin', 'report', 'web']);
  });

  it('gives the same order whatever the input order', () => {
    const tasks = GRAPH.map(([n, d]) => task(n, d));
    const expected = orderByDependencies(tasks).map((t) => t.name);
    for (const permutation of [[...tasks].reverse(), [tasks[3]!, tasks[0]!, tasks[5]!, tasks[1]!, tasks[4]!, tasks[2]!]]) {
      expect(orderByDependencies(permutation).map((t) => t.name)).toEqual(expected);
    }
  });

  it('orders independent tasks by name', () => {
    expect(orderByDependencies([task('c'), task('a'), task('b')]).map((t) => t.name)).toEqual(['a', 'b', 'c']);
  });

  it('ignores dependencies on unknown tasks and terminates on a cycle, returning every task once', () => {
    const order = orderByDependencies([task('a', ['b']), task('b', ['c']), task('c', ['a']), task('d', ['missing'])]).map((t) => t.name);
    expect([...order].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not modify its input', () => {
    const tasks = [task('b', ['z', 'a']), task('a')];
    orderByDependencies(tasks);
    expect(tasks.map((t) => [t.name, t.dependsOn])).toEqual([['b', ['z', 'a']], ['a', []]]);
  });
});

describe('dependencyLevels', () => {
  it('puts independent tasks together at the same level, each one level past its deepest dependency', () => {
    const levels = dependencyLevels(GRAPH.map(([n, d]) => planTask(n, d)));
    expect(Object.fromEntries([...levels].sort(([a], [b]) => a.localeCompare(b)))).toEqual({
      admin: 2, api: 1, cache: 0, db: 0, report: 1, web: 2,
    });
    const groups = new Map<number, string[]>();
    for (const [name, level] of levels) groups.set(level, [...(groups.get(level) ?? []), name].sort());
    expect([...groups].sort(([a], [b]) => a - b)).toEqual([[0, ['cache', 'db']], [1, ['api', 'report']], [2, ['admin', 'web']]]);
  });

  it('counts a dependency on an undeclared task as none and terminates on a cycle', () => {
    expect(dependencyLevels([planTask('a', ['gone'])]).get('a')).toBe(0);
    const cyclic = dependencyLevels([planTask('a', ['b']), planTask('b', ['a']), planTask('c', ['a'])]);
    expect([...cyclic.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(cyclic.get('c')).toBeGreaterThan(cyclic.get('a')!);
  });

  it('handles a long chain', () => {
    const chain = Array.from({ length: 500 }, (_, i) => planTask(`t${i}`, i ? [`t${i - 1}`] : []));
    const levels = dependencyLevels(chain.reverse());
    expect(levels.get('t0')).toBe(0);
    expect(levels.get('t499')).toBe(499);
  });
});

describe('dependency walks of thousands of tasks', () => {
  for (const n of [6_000, 20_000]) {
    it(`[deep-dependencies] order and levels of a chain of ${n} tasks, and of a cycle through them, without overflowing the stack`, () => {
      const names = Array.from({ length: n }, (_, i) => `t${String(i).padStart(5, '0')}`);
      // Each task depends on the next one: the last is the only root.
      const deps = (i: number, cycle: boolean): string[] => (i + 1 < n ? [names[i + 1]!] : cycle ? [names[0]!] : []);
      const order = orderByDependencies(names.map((name, i) => task(name, deps(i, false)))).map((t) => t.name);
      expect(order).toEqual([...names].reverse());
      const levels = dependencyLevels(names.map((name, i) => planTask(name, deps(i, false))));
      expect(levels.get(names[0]!)).toBe(n - 1);
      expect(levels.get(names[n - 1]!)).toBe(0);
      // A cycle is rejected by validation; these walks must still end, each task once.
      expect(orderByDependencies(names.map((name, i) => task(name, deps(i, true))))).toHaveLength(n);
      expect(dependencyLevels(names.map((name, i) => planTask(name, deps(i, true)))).size).toBe(n);
    });
  }
});
