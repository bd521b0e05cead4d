// The task view: one task's state, processes, code, last difference from git
// (live → desired, env values as sha256 prefixes) and its build's output tail.
import { ago, bytes, duration, h, shape, short, stateLabel, valueText } from './dom.js';

function section(title, ...body) {
  return h('section', { class: 'd-section' }, h('h3', {}, title), ...body);
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function codeFacts(code) {
  if (!code) return ['code', h('span', { class: 'dim' }, 'not delivered by pm2-gitops (no source or build)')];
  const same = code.running && code.running === code.desired && !code.mixed;
  const running = code.mixed ? 'mixed builds' : code.running ? short(code.running, 64) : h('span', { class: 'dim' }, 'none runs');
  return ['code', h('div', { class: 'code-facts' },
    h('div', {}, h('span', { class: 'k' }, 'running '), running),
    same ? null : h('div', {}, h('span', { class: 'k' }, 'desired '), short(code.desired, 64)),
    code.adopted ? h('div', { class: 'dim' }, 'adopted: runs from the repository as found') : null)];
}

function instances(list) {
  if (!list.length) return h('p', { class: 'dim' }, 'No process in PM2.');
  return h('table', { class: 'mini' },
    h('thead', {}, h('tr', {}, ['pm_id', 'pid', 'status', 'restarts', 'up since', 'CPU', 'memory'].map((c) => h('th', {}, c)))),
    h('tbody', {}, list.map((i) => h('tr', {},
      h('td', { class: 'num' }, i.pmId), h('td', { class: 'num' }, i.pid || '–'), h('td', {}, i.status),
      h('td', { class: 'num' }, i.restarts), h('td', {}, i.status === 'online' ? ago(i.startedAt) : '–'),
      h('td', { class: 'num' }, i.cpu === undefined ? '–' : `${i.cpu}%`), h('td', { class: 'num' }, bytes(i.memory))))));
}

function patchLine(op) {
  const path = op.path.replace(/^\//, '').replace(/\//g, '.');
  if (op.op === 'replace') return h('li', {}, h('code', { class: 'path' }, path), ' ', h('span', { class: 'old' }, valueText(op.oldValue)), ' → ', h('span', { class: 'new' }, valueText(op.value)));
  if (op.op === 'add') return h('li', {}, h('code', { class: 'path' }, path), ' ', h('span', { class: 'old' }, '∅'), ' → ', h('span', { class: 'new' }, valueText(op.value)));
  if (op.op === 'remove') return h('li', {}, h('code', { class: 'path' }, path), ' ', h('span', { class: 'old' }, 'set'), ' → ', h('span', { class: 'new' }, 'removed'));
  return h('li', {}, h('code', { class: 'path' }, path), ` ${op.op}`);
}

const KIND_TEXT = { missing: 'not in PM2: to be created', extra: 'in PM2, no longer in git', changed: 'options differ from git', 'in-sync': 'options as in git, processes unhealthy' };

function lastDiff(d) {
  if (!d) return h('p', { class: 'dim' }, 'No difference from git since the controller started.');
  return h('div', {},
    facts([
      ['found', h('span', {}, ago(d.at), ' in revision ', short(d.revision))],
      ['kind', KIND_TEXT[d.kind] ?? d.kind],
      ['pass', h('code', { class: 'hash', title: 'correlation id: the same on log lines and the evidence report' }, d.correlationId)],
    ]),
    d.patch.length ? h('div', {}, h('p', { class: 'k' }, `live → desired, ${d.patch.length} option${d.patch.length === 1 ? '' : 's'}`), h('ul', { class: 'patch' }, d.patch.map(patchLine))) : null,
    d.unhealthy.length ? h('ul', { class: 'patch' }, d.unhealthy.map((u) => h('li', {}, `pm_id ${u.pmId} was ${u.status}${u.exitCode !== undefined ? ` (exit ${u.exitCode})` : ''}`))) : null,
    d.actions.length
      ? h('ul', { class: 'actions' }, d.actions.map((a) => h('li', { 'data-result': a.result ?? 'planned' }, h('strong', {}, a.action), ` ${a.result ?? 'planned'}: ${a.reason}`, a.message ? h('div', { class: 'dim' }, a.message) : null)))
      : h('p', { class: 'dim' }, 'No action was planned for it.'));
}

function build(b) {
  if (!b) return h('p', { class: 'dim' }, 'No build recorded for this task’s code.');
  return h('div', {},
    facts([['digest', short(b.codeDigest, 64)], ['status', b.status], ['made', ago(b.createdAt)], b.revision ? ['from', short(b.revision)] : null]),
    b.steps.map((s) => h('details', { class: `step st-${s.status}`, open: s.status === 'failed' || undefined },
      h('summary', {}, h('strong', {}, s.kind), s.command ? h('code', {}, ` ${s.command}`) : null, ' ',
        h('span', { class: 'step-status' }, s.status, s.exitCode !== undefined && s.exitCode !== null ? ` · exit ${s.exitCode}` : '', s.timedOut ? ' · timed out' : '', ` · ${duration(s.durationMs)}`)),
      s.message ? h('p', { class: 'dim' }, s.message) : null,
      s.tail.length ? h('pre', { class: 'tail' }, s.tail.join('\n')) : h('p', { class: 'dim' }, s.status === 'reused' ? `reused${s.reusedFrom ? ` from ${s.reusedFrom.slice(0, 12)}` : ''}` : 'no output'))));
}

/** The drawer's content for a task detail answer. */
export function taskDetail(t) {
  const procs = t.live.instances;
  return [
    h('div', { class: 'd-state' }, shape(t.state), h('span', { class: `state st-${t.state}` }, stateLabel(t.state)), h('span', { class: 'dim' }, ` · ${t.type}`)),
    facts([
      ['restarts', String(procs.reduce((n, i) => n + i.restarts, 0))],
      codeFacts(t.code),
      ['last action', t.lastAction ? h('span', {}, h('strong', {}, t.lastAction.action), ' ', ago(t.lastAction.at), t.lastAction.message ? h('div', { class: 'dim' }, t.lastAction.message) : null) : '–'],
      t.desired?.file ? ['manifest', h('code', {}, t.desired.file)] : null,
    ]),
    section('Processes', instances(procs)),
    section('Last difference from git', lastDiff(t.lastDiff)),
    section('Build', build(t.build)),
    t.desired ? section('Desired options', h('pre', { class: 'json' }, JSON.stringify(t.desired.process, null, 2))) : null,
  ];
}
