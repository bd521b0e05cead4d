// The dashboard: environments and their tasks, kept current by the event
// stream (a task's shape changes the moment PM2 reports it) and a slow poll
// for CPU and memory; a task view; reconcile, suspend and resume for operators.
import { Unauthorized, claimsOf, followEvents, forgetToken, request, storeToken, storedToken } from './api.js';
import { taskDetail } from './detail.js';
import { ago, bytes, clock, fill, h, shape, short, stateLabel } from './dom.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 10_000;
const MAX_EVENTS = 200;

const state = {
  token: undefined,
  claims: undefined,
  envs: [],
  /** environment → { revision, observedNow, tasks, at } */
  tasks: new Map(),
  selected: undefined,
  task: undefined,
  busy: new Set(),
  stopEvents: undefined,
  refreshTimers: new Map(),
  pollTimer: undefined,
  /** task name → the time its row last changed shape (for the highlight) */
  changed: new Map(),
};

// ---- sign in / out ----

function showLogin(message = '') {
  state.stopEvents?.();
  state.stopEvents = undefined;
  clearInterval(state.pollTimer);
  $('app').hidden = true;
  $('who').hidden = true;
  $('drawer').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  setConn('off');
  $('token').focus();
}

function signOut(message) {
  forgetToken();
  state.token = undefined;
  showLogin(message);
}

async function signIn(token) {
  const claims = claimsOf(token);
  if (!claims) { showLogin('That is not a JWT (three base64url parts separated by dots).'); return; }
  state.token = token;
  state.claims = claims;
  try {
    await loadEnvironments();
  } catch (err) {
    if (err instanceof Unauthorized) { signOut('The controller refused this token (wrong, expired or for another controller).'); return; }
    showLogin(`The controller could not be reached: ${err.message}`);
    return;
  }
  storeToken(token);
  $('login').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  renderWho();
  route();
  state.stopEvents = followEvents(token, { onEvent, onState: setConn, onUnauthorized: () => signOut('The token expired or was refused. Enter a new one.') });
  state.pollTimer = setInterval(() => { if (!document.hidden) void refreshAll(); }, POLL_MS);
}

function renderWho() {
  const c = state.claims;
  const left = c.exp ? Math.round((c.exp * 1000 - Date.now()) / 60_000) : undefined;
  fill($('who-text'), h('strong', {}, c.subject), ` · ${c.role}`, left !== undefined ? h('span', { class: 'dim' }, left > 0 ? ` · token ends in ${left < 120 ? `${left} min` : `${Math.round(left / 60)} h`}` : ' · token expired') : null);
}

function setConn(s) {
  const words = { live: 'live', connecting: 'connecting…', down: 'reconnecting…', off: 'not connected' };
  $('conn').dataset.state = s;
  $('conn-text').textContent = words[s] ?? s;
}

// ---- data ----

async function guarded(work) {
  try {
    return await work();
  } catch (err) {
    if (err instanceof Unauthorized) signOut('The token expired or was refused. Enter a new one.');
    else console.warn(err);
    return undefined;
  }
}

async function loadEnvironments() {
  const r = await request(state.token, '/api/environments');
  if (!r.ok) throw new Error(`/api/environments answered ${r.status}`);
  state.envs = r.body.environments;
  renderEnvList();
}

async function loadTasks(env) {
  const r = await request(state.token, `/api/environments/${encodeURIComponent(env)}/tasks`);
  if (r.status === 404) { state.tasks.delete(env); return; }
  if (!r.ok) throw new Error(`tasks of ${env} answered ${r.status}`);
  state.tasks.set(env, { ...r.body, at: Date.now() });
  if (env === state.selected) renderTasks();
  renderEnvList();
}

async function refreshAll() {
  await guarded(async () => {
    await loadEnvironments();
    if (state.selected) { await loadTasks(state.selected); renderEnvHead(); }
    if (state.task) await loadDetail();
  });
}

/** Reads an environment's tasks again soon; events that come close together make one request. */
function refreshSoon(env, ms = 250) {
  if (!env || state.refreshTimers.has(env)) return;
  state.refreshTimers.set(env, setTimeout(() => {
    state.refreshTimers.delete(env);
    void guarded(async () => {
      await loadTasks(env);
      if (state.task && env === state.selected) await loadDetail();
    });
  }, ms));
}

// ---- routing: #/<env> and #/<env>/<task> ----

function route() {
  const [env, task] = location.hash.replace(/^#\/?/, '').split('/').map((p) => decodeURIComponent(p));
  const known = state.envs.map((e) => e.name);
  state.selected = known.includes(env) ? env : known[0];
  state.task = state.selected && task ? task : undefined;
  renderEnvList();
  renderEnvHead();
  renderTasks();
  if (state.selected) void guarded(() => loadTasks(state.selected));
  if (state.task) void guarded(loadDetail); else $('drawer').hidden = true;
}

function go(env, task) {
  location.hash = `#/${encodeURIComponent(env)}${task ? `/${encodeURIComponent(task)}` : ''}`;
}

// ---- rendering ----

const OUTCOME = { converged: 'ok', failed: 'bad', invalid: 'bad', 'rolled-back': 'warn', 'not-approved': 'warn', held: 'warn' };

function badge(text, tone, title) {
  return h('span', { class: `badge b-${tone}`, title }, text);
}

function suspendedOf(env) {
  const s = env.suspended;
  if (!s) return undefined;
  return typeof s === 'object' ? s : {};
}

function renderEnvList() {
  fill($('env-list'), state.envs.map((e) => {
    const t = state.tasks.get(e.name)?.tasks;
    const counts = new Map();
    for (const x of t ?? []) counts.set(x.state, (counts.get(x.state) ?? 0) + 1);
    const suspended = suspendedOf(e);
    return h('li', {},
      h('a', { href: `#/${encodeURIComponent(e.name)}`, class: 'env-link', 'aria-current': e.name === state.selected ? 'page' : undefined },
        h('span', { class: 'env-name' }, e.name, state.busy.has(e.name) ? h('span', { class: 'spinner', title: 'reconciling' }) : null),
        h('span', { class: 'env-line' }, badge(e.outcome, OUTCOME[e.outcome] ?? 'warn'), suspended ? badge('suspended', 'warn') : null),
        h('span', { class: 'env-line dim' }, t ? [...counts].map(([s, n]) => h('span', { class: 'count' }, shape(s), String(n))) : `${e.tasks} tasks`),
        h('span', { class: 'env-line dim' }, 'reconciled ', ago(e.reconciledAt))));
  }));
}

function actionButton(label, verb, env, opts = {}) {
  const operator = state.claims?.role === 'operator';
  return h('button', {
    type: 'button', class: opts.primary ? 'primary' : '', 'data-action': verb,
    disabled: !operator || undefined,
    title: operator ? opts.title : 'Needs a token with --role operator',
    onclick: () => void act(verb, env, opts.confirm),
  }, label);
}

function fact(label, ...value) {
  return h('span', { class: 'fact' }, h('span', { class: 'k' }, label), ' ', ...value);
}

function renderEnvHead() {
  const e = state.envs.find((x) => x.name === state.selected);
  const head = $('env-head');
  if (!e) { fill(head, h('h1', {}, 'No environment'), h('p', { class: 'dim' }, 'The controller has not reported any environment yet.')); return; }
  const suspended = suspendedOf(e);
  const tip = e.running && e.tip !== e.running ? h('span', {}, ' · tip ', short(e.tip), ' not applied') : null;
  fill(head,
    h('div', { class: 'env-title' },
      h('h1', {}, e.name),
      badge(e.outcome, OUTCOME[e.outcome] ?? 'warn', e.reason),
      suspended ? badge(`suspended${suspended.by ? ` by ${suspended.by}` : ''}`, 'warn', suspended.at ? `since ${suspended.at}` : undefined) : null,
      h('div', { class: 'env-actions' },
        actionButton('Reconcile now', 'reconcile', e.name, { primary: true, title: 'Queue a pass: applies what git holds, nothing else' }),
        suspended
          ? actionButton('Resume', 'resume', e.name, { title: 'Apply changes again' })
          : actionButton('Suspend', 'suspend', e.name, { title: 'Observe and report only; change nothing', confirm: `Suspend ${e.name}? The controller will observe and report it but change nothing until it is resumed.` }),
        suspended ? null : actionButton('Resume', 'resume', e.name, { title: 'Apply changes again' }))),
    h('div', { class: 'env-facts' },
      fact('running', e.running ? short(e.running) : h('span', { class: 'dim' }, 'nothing yet'), tip),
      fact('namespace', e.namespace ?? '–'),
      fact('reconciled', ago(e.reconciledAt), ' · pass ', h('code', { class: 'hash', title: `correlation id ${e.correlationId}: on the log lines and the evidence report of that pass` }, e.correlationId.slice(0, 8))),
      fact('approval', e.approval.required ? `${e.approval.granted} of ${e.approval.required}${e.approval.ok ? '' : ' (refused)'}` : 'not required'),
      e.evidence ? fact('evidence', h('code', { class: 'path', title: e.evidence }, e.evidence.split('/').pop())) : null),
    e.problems.length ? h('ul', { class: 'problems' }, e.problems.map((p) => h('li', {}, p))) : null);
}

function sum(list, key) {
  let n = 0;
  let seen = false;
  for (const i of list) if (typeof i[key] === 'number') { n += i[key]; seen = true; }
  return seen ? n : undefined;
}

function codeCell(code) {
  if (!code) return h('span', { class: 'dim' }, '–');
  if (code.mixed) return h('span', { class: 'warn-text' }, 'mixed → ', short(code.desired));
  if (!code.desired || code.running === code.desired) return short(code.running ?? code.desired);
  return h('span', {}, code.running ? short(code.running) : h('span', { class: 'dim' }, '–'), ' → ', short(code.desired));
}

function healthCell(t) {
  if (t.state === 'errored') return h('span', { class: 'bad-text' }, 'failing');
  const m = t.lastAction?.message;
  return m ? h('span', { class: 'clip', title: m }, m) : h('span', { class: 'dim' }, '–');
}

function taskRow(t) {
  const procs = t.live.instances;
  const online = procs.filter((i) => i.status === 'online').length;
  const cpu = sum(procs, 'cpu');
  const recent = (state.changed.get(t.name) ?? 0) > Date.now() - 4000;
  return h('tr', { 'data-task': t.name, 'data-state': t.state, class: recent ? 'changed' : undefined, tabindex: 0, onclick: () => go(state.selected, t.name), onkeydown: (ev) => { if (ev.key === 'Enter') go(state.selected, t.name); } },
    h('td', { class: 'c-shape' }, shape(t.state)),
    h('td', {}, h('span', { class: 'task-name' }, t.name), h('span', { class: 'type' }, t.type)),
    h('td', {}, h('span', { class: `state st-${t.state}` }, stateLabel(t.state))),
    h('td', { class: 'num' }, procs.length ? `${online}/${procs.length}` : '–'),
    h('td', { class: 'num' }, String(procs.reduce((n, i) => n + i.restarts, 0))),
    h('td', { class: 'num' }, cpu === undefined || !online ? '–' : `${cpu}%`),
    h('td', { class: 'num' }, online ? bytes(sum(procs, 'memory')) : '–'),
    h('td', {}, codeCell(t.code)),
    h('td', {}, t.lastAction ? h('span', {}, t.lastAction.action, ' ', h('span', { class: 'dim small' }, ago(t.lastAction.at))) : h('span', { class: 'dim' }, '–')),
    h('td', { class: 'c-health' }, healthCell(t)));
}

function renderTasks() {
  const data = state.selected ? state.tasks.get(state.selected) : undefined;
  const tasks = data?.tasks ?? [];
  fill($('task-rows'), tasks.map(taskRow));
  const empty = $('tasks-empty');
  empty.hidden = tasks.length > 0;
  empty.textContent = data ? 'This environment declares no task.' : 'Loading tasks…';
  $('tasks').classList.toggle('stale', data !== undefined && !data.observedNow);
  $('tasks').title = data && !data.observedNow ? 'PM2 could not be read now: as the last reconcile saw it' : '';
}

async function loadDetail() {
  const env = state.selected;
  const name = state.task;
  const r = await request(state.token, `/api/environments/${encodeURIComponent(env)}/tasks/${encodeURIComponent(name)}`);
  if (env !== state.selected || name !== state.task) return;
  const drawer = $('drawer');
  drawer.hidden = false;
  fill($('drawer-title'), h('span', { class: 'dim' }, `${env} / `), name);
  if (!r.ok) { fill($('drawer-body'), h('p', { class: 'error' }, r.status === 404 ? 'This task is not in the environment any more.' : `The controller answered ${r.status}.`)); return; }
  fill($('drawer-body'), taskDetail(r.body.task));
}

// ---- actions ----

let toastTimer;
function toast(text, tone = 'ok') {
  const el = $('toast');
  el.textContent = text;
  el.dataset.tone = tone;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 8000);
}

async function act(verb, env, question) {
  if (question && !confirm(question)) return;
  const r = await guarded(() => request(state.token, `/api/environments/${encodeURIComponent(env)}/${verb}`, { method: 'POST' }));
  if (!r) return;
  const error = r.body?.error;
  if (r.ok) {
    const id = r.body?.correlationId;
    toast(`${verb} ${env}: ${r.status === 202 ? 'queued' : 'done'}${id ? ` (pass ${id.slice(0, 8)})` : ''}`);
    await refreshAll();
  } else {
    toast(`${verb} ${env}: the controller answered ${r.status}${error ? ` ${error}` : ''}`, 'bad');
  }
}

// ---- events ----

function describe(ev) {
  const d = ev.data ?? {};
  switch (ev.type) {
    case 'process': return [`${d.name} `, h('strong', {}, d.event), d.pmId !== undefined ? h('span', { class: 'dim' }, ` pm_id ${d.pmId}`) : null];
    case 'task-state': return [h('strong', {}, d.task), ' ', d.from ? [shape(d.from), ' → '] : null, shape(d.to), ` ${stateLabel(d.to)}`];
    case 'reconcile-started': return ['pass started', d.reasons?.length ? h('span', { class: 'dim' }, `: ${d.reasons.join(', ')}`) : null];
    case 'reconcile-finished': return [`pass finished in ${Math.round(d.durationMs ?? 0)} ms`, h('span', { class: 'dim' }, (d.environments ?? []).map((e) => ` · ${e.environment} ${e.outcome}`).join(''))];
    case 'build-started': return [h('strong', {}, d.task), ` ${d.step} started`];
    case 'build-finished': return [h('strong', {}, d.task), ` ${d.step} ${d.status}`, d.exitCode !== undefined && d.exitCode !== null ? ` (exit ${d.exitCode})` : ''];
    case 'approval-refused': return [`revision ${String(d.revision).slice(0, 12)} refused: ${d.granted} of ${d.required} approvals`];
    default: return [ev.type];
  }
}

function logEvent(ev) {
  const list = $('events');
  list.prepend(h('li', { class: `ev ev-${ev.type}`, title: `pass ${ev.correlationId}` },
    h('time', { datetime: ev.at }, clock(ev.at)),
    h('span', { class: 'ev-type' }, ev.type),
    ev.environment ? h('span', { class: 'ev-env' }, ev.environment) : null,
    h('span', { class: 'ev-text' }, describe(ev))));
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

function onEvent(ev) {
  logEvent(ev);
  const env = ev.environment;
  if (ev.type === 'task-state' && env) {
    // The shape changes now; pids, restarts and the rest follow with the next read.
    const data = state.tasks.get(env);
    const t = data?.tasks.find((x) => x.name === ev.data.task);
    if (t) { t.state = ev.data.to; t.shape = ev.data.shape; }
    state.changed.set(ev.data.task, Date.now());
    if (env === state.selected) renderTasks();
    renderEnvList();
    refreshSoon(env);
  } else if (ev.type === 'process') {
    refreshSoon(env, 500);
  } else if (ev.type === 'reconcile-started') {
    for (const e of ev.data.environments ?? []) state.busy.add(e);
    renderEnvList();
  } else if (ev.type === 'reconcile-finished') {
    state.busy.clear();
    void refreshAll();
  } else if (ev.type === 'approval-refused') {
    void refreshAll();
  } else if (ev.type === 'build-finished' && env === state.selected && ev.data.task === state.task) {
    void guarded(loadDetail);
  }
}

// ---- start ----

for (const li of document.querySelectorAll('.legend li')) li.prepend(shape(li.dataset.state));
$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
  $('token').value = '';
  void signIn(token);
});
$('signout').addEventListener('click', () => signOut(''));
$('drawer-close').addEventListener('click', () => go(state.selected));
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && state.task) go(state.selected); });
window.addEventListener('hashchange', () => { if (state.token) route(); });
document.addEventListener('visibilitychange', () => { if (!document.hidden && state.token) void refreshAll(); });
setInterval(() => { if (state.token) { renderWho(); if (state.selected) renderEnvHead(); } }, 30_000);

const saved = storedToken();
if (saved) void signIn(saved); else showLogin();
