// Komek department page: the page's state and what its panels share.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, fmtTime, fmtSpan, secondsUntil, flash, batcher, $ } from '/staff.js';

export const HEAD_LEVEL = 3;

export const state = {
  lang: 'en',
  token: null,
  user: null,
  tab: 'queue',
  queue: [],
  queueAt: null,
  ctx: null, // the open escalation's context
  departments: [],
  problems: [],
  problem: null, // the open problem's detail
  stats: null,
  refreshTimer: null,
  tickTimer: null,
  live: null, // the live connection (live() of /staff.js)
};

export function deadline(e) {
  if (e.status === 'answered') return { text: t('answered_at', { t: fmtTime(e.answered_at) }), overdue: false, state: 'answered' };
  if (e.paused_at) return { text: t('paused'), overdue: false, state: 'paused' };
  if (!e.due_at) return { text: t('no_deadline'), overdue: false, state: 'none' };
  const left = secondsUntil(e.due_at);
  if (left < 0) return { text: t('overdue_by', { t: fmtSpan(-left) }), overdue: true, state: 'overdue' };
  return { text: t('left', { t: fmtSpan(left) }), overdue: false, state: 'running' };
}

/** Fills `node` with the deadline of `e` (its due time in the title). */
export function showDeadline(node, e) {
  const d = deadline(e);
  node.textContent = d.text;
  node.classList.toggle('overdue', d.overdue);
  node.dataset.overdue = String(d.overdue);
  node.dataset.state = d.state;
  if (e.due_at) node.title = fmtTime(e.due_at);
}

export const enc = encodeURIComponent;

export const me = () => (state.user ? state.user.login : null);
export const isHead = () => Boolean(state.user && Number(state.user.level) >= HEAD_LEVEL);

export const tierOf = (level) => (Number(level) >= 3 ? 'head' : Number(level) === 2 ? 'second_line' : 'first_line');

export function required(id) {
  const v = $(id).value.trim();
  if (!v) {
    flash(t('empty_text'), 'error');
    $(id).focus();
  }
  return v;
}

/** What can be read again, by name (`app.js` registers the loaders once). */
const loaders = {};
const batch = batcher(loaders, 300);

/** Registers the panels' loaders. */
export function useLoaders(all) {
  Object.assign(loaders, all);
}

/** Reads the named parts again, once for a burst of pushes (a problem linking 1,000 requests). */
export const schedule = (...names) => batch.schedule(...names);

/** Drops the reads pending (signing out). */
export const cancelReloads = () => batch.cancel();
