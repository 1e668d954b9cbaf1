// Komek workspace page: the page's state and what every panel asks of it.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { el, batcher, $ } from '/staff.js';

/** Statuses in which a request is no longer worked. */
export const CLOSED = new Set(['resolved', 'closed']);

export const state = {
  lang: 'en',
  token: null,
  user: null,
  expiresAt: 0,
  presence: null,
  tab: 'work',
  queue: null,
  offers: [],
  offerExpiry: new Map(), // request id -> ms since epoch, from offer.made pushes
  current: null, // id of the open request
  view: null, // {request, history, templates, similar, customer, others}
  departments: [],
  sv: null,
  templates: [],
  tplEditing: null, // template id being edited, or '' for a new one
  people: null, // agents and supervisors (supervisors' staff administration)
  admEditing: null, // login being edited, or '' for a new person
  problems: null, // open and candidate problems (supervisors)
  knownProblems: null, // ids of the problems loaded before (a new candidate among them is announced)
  spikeAlerts: [], // [{id, number, title}], newest first: candidates spike detection opened
  searchResult: null,
  searchParams: null,
  feed: [],
  live: null, // the live connection (live() of /staff.js)
};

export const isSupervisor = () => state.user && state.user.role === 'supervisor';
export const me = () => (state.user ? state.user.login : null);

/** A link that opens request `id` (the page's delegated click handler opens it). */
export function openLink(id, number) {
  return el('a', { href: '#' + id, className: 'open', data: { requestId: id }, text: number });
}

/** The panels' loaders, by name (`app.js` registers them once; `schedule` reads them again). */
const loaders = {};
const batch = batcher(loaders, 120);

/** Registers the panels' loaders. */
export function useLoaders(all) {
  Object.assign(loaders, all);
}

/** Reloads the named panels soon, once for a burst of pushes. */
export const schedule = (...names) => batch.schedule(...names);

/** Drops the reloads pending (signing out). */
export const cancelReloads = () => batch.cancel();

/** Shows the agents' or the supervisors' tab (agents have only theirs). */
export function showTab(tab) {
  state.tab = isSupervisor() ? tab : 'work';
  $('work-view').hidden = state.tab !== 'work';
  $('super-view').hidden = state.tab !== 'supervise';
  for (const b of document.querySelectorAll('#tabs [data-tab]')) {
    b.setAttribute('aria-pressed', String(b.dataset.tab === state.tab));
  }
  if (state.tab === 'supervise') schedule('sv', 'problems', 'templates');
}
