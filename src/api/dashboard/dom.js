// DOM building and formatting. Every value from the API goes in as text
// (textContent, attributes), never as HTML.

const SVG = 'http://www.w3.org/2000/svg';

/** An element with attributes (`class`, `title`, data-*, …) and children (nodes or text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// The shapes of task states (the status file's △ ○ ⬠ □ ∅), drawn so that every font shows them alike.
const SHAPES = {
  starting: { label: 'starting', draw: [['path', { d: 'M8 2.2 14 13.3H2z' }]] },
  online: { label: 'online', draw: [['circle', { cx: 8, cy: 8, r: 5.6 }]] },
  stopping: { label: 'stopping', draw: [['path', { d: 'M8 2 14 6.4 11.7 13.6H4.3L2 6.4z' }]] },
  stopped: { label: 'stopped', draw: [['rect', { x: 2.6, y: 2.6, width: 10.8, height: 10.8, rx: 1 }]] },
  errored: { label: 'errored (failing)', draw: [['path', { d: 'M8 2.2 14 13.3H2z' }], ['path', { d: 'M8 6.5v3.2M8 11.2v.2', class: 'mark' }]] },
  deleted: { label: 'deleted', draw: [['circle', { cx: 8, cy: 8, r: 5 }], ['path', { d: 'M3 13 13 3', class: 'mark' }]] },
  completed: { label: 'completed', draw: [['rect', { x: 2.6, y: 2.6, width: 10.8, height: 10.8, rx: 1 }], ['path', { d: 'M5 8.2 7.1 10.3 11 6', class: 'mark' }]] },
  missing: { label: 'not running', draw: [['circle', { cx: 8, cy: 8, r: 5 }], ['path', { d: 'M3 13 13 3', class: 'mark' }]] },
  unknown: { label: 'unknown (PM2 unreachable)', draw: [['circle', { cx: 8, cy: 8, r: 5.6, class: 'dashed' }]] },
};

/** The words of a state. */
export function stateLabel(state) {
  return SHAPES[state]?.label ?? state;
}

/** The shape of a task state as an inline SVG, with its name for screen readers. */
export function shape(state) {
  const known = SHAPES[state] ?? SHAPES.unknown;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', `shape s-${state in SHAPES ? state : 'unknown'}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', known.label);
  const title = document.createElementNS(SVG, 'title');
  title.textContent = known.label;
  svg.append(title);
  for (const [tag, attrs] of known.draw) {
    const part = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) part.setAttribute(k, String(v));
    svg.append(part);
  }
  return svg;
}

/** A commit or digest, shortened to 12 characters, the whole in its title. */
export function short(value, length = 12) {
  if (!value) return h('span', { class: 'dim' }, '–');
  return h('code', { class: 'hash', title: value }, value.slice(0, length));
}

/** Bytes as KiB/MiB/GiB. */
export function bytes(n) {
  if (n === undefined || n === null) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A duration in milliseconds, for people. */
export function duration(ms) {
  if (ms === undefined || ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hours = Math.floor(m / 60);
  return hours < 48 ? `${hours} h ${m % 60} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** How long ago `iso` was, the exact time in the title. */
export function ago(iso, now = Date.now()) {
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0) return h('span', { class: 'dim' }, '–');
  const ms = Math.max(0, now - t);
  const text = ms < 5000 ? 'just now' : `${duration(ms).replace(/ \d+ s$/, '')} ago`;
  return h('time', { datetime: new Date(t).toISOString(), title: new Date(t).toLocaleString() }, text);
}

/** A clock time (HH:MM:SS) of an ISO time. */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false });
}

/** A value of a patch or an option, as one line of text. */
export function valueText(v) {
  if (v === undefined) return '∅';
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v);
}
