/**
 * Reading a status file back (pure): `status --json` gives scripts the same
 * facts people read in `status/<env>.md`, without a second file to keep in
 * step with it.
 */

/** One row of the task table. */
export interface ParsedTask {
  task: string;
  type: string;
  state: string;
  pids: number[];
  restarts: number;
  since?: string;
  lastAction?: string;
  health?: string;
  /** Short code digests (12 hex): what runs and what the revision wants. */
  code?: { running?: string; desired?: string; mixed?: boolean; adopted?: boolean };
}

export interface ParsedBuildFailure {
  task: string;
  message: string;
  tail: string[];
}

export interface ParsedStatus {
  environment: string;
  /** The header table: result, reason, revision, running, approval, … (markdown emphasis removed). */
  fields: Record<string, string>;
  tasks: ParsedTask[];
  buildFailures: ParsedBuildFailure[];
  problems: string[];
  /** Whether the environment converged and every task runs its desired code. */
  converged: boolean;
}

/** Splits a markdown table row into its cells, keeping escaped pipes. */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

const plain = (text: string): string => text.replace(/\*\*/g, '').replace(/`/g, '');
const dash = (text: string): string | undefined => (text === '–' || text === '' ? undefined : text);

function codeOf(cell: string): ParsedTask['code'] {
  if (cell === '–') return undefined;
  const digests = [...cell.matchAll(/`([0-9a-f]{12})`/g)].map((m) => m[1]!);
  if (cell.includes('(adopted')) return { ...(digests[0] ? { desired: digests[0] } : {}), adopted: true };
  const [left, right] = cell.split('→').map((s) => s.trim());
  const mixed = left === 'mixed';
  const running = /`([0-9a-f]{12})`/.exec(left ?? '')?.[1];
  const desired = right !== undefined ? /`([0-9a-f]{12})`/.exec(right)?.[1] : running;
  return { ...(running ? { running } : {}), ...(desired ? { desired } : {}), ...(mixed ? { mixed } : {}) };
}

/** The lines of one `## title` section (title matched by its start), up to the next section. */
function section(lines: readonly string[], title: string): string[] {
  const start = lines.findIndex((l) => l.startsWith(`## ${title}`));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The status file's facts as data. */
export function parseStatus(text: string): ParsedStatus {
  const lines = text.split('\n');
  const environment = (lines.find((l) => l.startsWith('# ')) ?? '').slice(2).trim();
  const fields: Record<string, string> = {};
  const firstSection = lines.findIndex((l) => l.startsWith('## '));
  for (const line of firstSection < 0 ? lines : lines.slice(0, firstSection)) {
    if (!line.startsWith('| ') || line.startsWith('| --- ') || line.startsWith('| |')) continue;
    const [key, value] = cells(line);
    if (key) fields[key] = plain(value ?? '');
  }
  const tasks: ParsedTask[] = [];
  for (const line of section(lines, 'Tasks')) {
    if (!line.startsWith('| ') || line.startsWith('| task |') || line.startsWith('| --- ') || line.startsWith('| … and')) continue;
    const [task, type, state, pids, restarts, since, lastAction, health, code] = cells(line);
    const row: ParsedTask = {
      task: task!, type: type!, state: state!,
      pids: dash(pids!) ? pids!.split(',').map((p) => Number(p.trim())) : [],
      restarts: Number(restarts),
    };
    if (dash(since!)) row.since = since;
    if (dash(lastAction!)) row.lastAction = lastAction;
    if (dash(health!)) row.health = health;
    const c = code ? codeOf(code) : undefined;
    if (c) row.code = c;
    tasks.push(row);
  }
  const buildFailures: ParsedBuildFailure[] = [];
  for (const line of section(lines, 'Build failures')) {
    const head = /^- ([^:]+): (.*)$/.exec(line);
    if (head) buildFailures.push({ task: head[1]!, message: head[2]!, tail: [] });
    else if (line.startsWith('  ') && line.trim() !== '```' && buildFailures.length) buildFailures[buildFailures.length - 1]!.tail.push(line.slice(2));
  }
  const problems = section(lines, 'Problems').filter((l) => l.startsWith('- ')).map((l) => l.slice(2));
  const converged = fields.result === 'converged' && tasks.every((t) => !t.code || t.code.adopted || (t.code.running !== undefined && t.code.running === t.code.desired && !t.code.mixed));
  return { environment, fields, tasks, buildFailures, problems, converged };
}
