// Komek department page: department staff work the escalations and problems of their department;
// heads also see its figures. The entry module: plain JavaScript modules, no build step, no
// external assets; it signs in, keeps the session, switches the tabs and wires the panels, each
// in its own module under /js/ (web/js/). The staff pages' shared helpers come from /staff.js
// (libs/web/assets/staff.js). Everything that comes from the server is put on the page as text
// (textContent), never as HTML.

import {
  meta, $, label, el, setText, fillCodes, t, showError, saveSession, restoreSession, showSignedIn, signedOut, setup, live,
  logout,
} from '/staff.js';
import { state, isHead, tierOf, useLoaders, schedule, cancelReloads } from './js/state.js';
import { loadQueue, renderQueue, tick } from './js/queue.js';
import {
  openEscalation, closeEscalation, renderContext, updateActions, accept, askAgent, answer, reject, loadDepartments,
  renderDepartments,
} from './js/escalation.js';
import {
  loadProblems, renderProblems, createProblem, openProblem, renderProblem, problemAction, linkRequests, resolveProblem,
  closeProblem,
} from './js/problems.js';
import { loadStats, renderStats } from './js/figures.js';

const REFRESH_MS = 15000;

/** The panels' label/value lists (`dl` id: label key, value id, value class; a pill sits in its `dd`). */
const FACTS = {
  'esc-facts': [['col_status', 'esc-status', 'pill'], ['col_tier', 'esc-tier'], ['col_assignee', 'esc-assignee'],
    ['col_due', 'esc-due'], ['agent', 'esc-agent'], ['reason', 'esc-reason', 'pre'], ['path', 'esc-path'],
    ['answer', 'esc-answer', 'pre']],
  'cust-facts': [['name', 'cust-name'], ['phone', 'cust-phone'], ['email', 'cust-email'], ['segment', 'cust-segment'],
    ['region', 'cust-region'], ['tariff', 'cust-tariff'], ['balance', 'cust-balance']],
  'problem-facts': [['col_status', 'problem-status', 'pill'], ['department', 'problem-department'],
    ['category', 'problem-category-view'], ['region', 'problem-region-view'], ['linked', 'problem-linked'],
    ['description', 'problem-description-view', 'pre'], ['spike', 'problem-spike'], ['resolution', 'problem-resolution', 'pre']],
};

function buildFacts() {
  for (const [id, rows] of Object.entries(FACTS)) {
    $(id).replaceChildren(...rows.flatMap(([key, valueId, className]) => [el('dt', { 'data-i18n': key }),
      className === 'pill' ? el('dd', {}, el('span', { id: valueId, className })) : el('dd', { id: valueId, className })]));
  }
}

/** After the language changed: the category choices and everything drawn from data. */
function onLang() {
  fillCodes($('problem-category'), meta.categories, 'cat_', t('any'));
  renderAll();
}

function renderAll() {
  if (!state.user) return;
  renderWhoami();
  renderQueue();
  renderDepartments();
  if (state.ctx) renderContext();
  renderProblems();
  if (state.problem) renderProblem();
  if (state.stats) renderStats();
}

// ---------------------------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------------------------
function endSession(message) {
  if (state.live) state.live.stop();
  state.live = null;
  cancelReloads();
  clearInterval(state.refreshTimer);
  clearInterval(state.tickTimer);
  Object.assign(state, { queue: [], ctx: null, problems: [], problem: null, stats: null });
  signedOut(message);
}

function renderWhoami() {
  const u = state.user;
  setText('whoami', `${u.name} (${u.login}) · ${u.department || ''} · ${label('tier_', tierOf(u.level))}`);
}

function startApp() {
  showSignedIn(true);
  $('tab-figures').hidden = !isHead();
  setText('figures-department', state.user.department); // known before the figures load
  renderWhoami();
  showTab('queue');
  loadDepartments();
  refreshAll();
  state.live = live({ onNote, onOpen: refreshAll });
  // Reading again on a timer only while the live socket is down.
  clearInterval(state.refreshTimer);
  state.refreshTimer = setInterval(() => {
    if (!state.live || !state.live.open) refreshAll();
  }, REFRESH_MS);
  clearInterval(state.tickTimer);
  state.tickTimer = setInterval(tick, 1000);
}

// ---------------------------------------------------------------------------------------------
// Live updates: a push says what changed; the page reads it again from the API
// ---------------------------------------------------------------------------------------------
/** What can be read again, by name. */
const LOADERS = {
  queue: loadQueue,
  ctx: () => state.ctx && openEscalation(state.ctx.escalation.id, true),
  problems: loadProblems,
  problem: () => state.problem && openProblem(state.problem.problem.id),
  stats: () => state.tab === 'figures' && loadStats(),
};

useLoaders(LOADERS);

function refreshAll() {
  schedule('queue', 'ctx', 'problems', 'problem', 'stats');
}

/** Events this service applies itself: the push may come before the change is in. */
const APPLIED_LATER = /^(request\.escalated|request\.resolved|escalation\.info_given)$/;

function onNote(note) {
  const type = String(note.type || '');
  const names = ['queue', 'stats'];
  if (note.escalation_id && state.ctx && state.ctx.escalation.id === note.escalation_id) names.push('ctx');
  if (type.startsWith('problem.')) names.push('problems');
  if (note.problem_id && state.problem && state.problem.problem.id === note.problem_id) names.push('problem');
  schedule(...names);
  if (APPLIED_LATER.test(type)) setTimeout(() => schedule(...names), 1500);
}

function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll('.tabs button')) b.setAttribute('aria-pressed', String(b.dataset.tab === tab));
  $('queue-view').hidden = tab !== 'queue';
  $('problems-view').hidden = tab !== 'problems';
  $('figures-view').hidden = tab !== 'figures';
  if (tab === 'problems') loadProblems();
  if (tab === 'figures') loadStats();
}

// ---------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------
async function init() {
  buildFacts();
  await setup({
    state,
    prefix: 'dept',
    roles: ['department_staff'],
    sessionKey: 'komek.dept.session',
    langKey: 'komek.dept.lang',
    onLang,
    onSignedIn: () => {
      saveSession();
      startApp();
    },
    onExpired: endSession,
    afterBusy: updateActions,
  });
  // The session ends on the server too: its tokens stop working on every service.
  $('signout').addEventListener('click', async () => {
    await logout();
    endSession('');
  });
  for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  $('filter-mine').addEventListener('change', loadQueue);
  $('filter-answered').addEventListener('change', loadQueue);
  $('queue-refresh').addEventListener('click', loadQueue);
  $('esc-close').addEventListener('click', closeEscalation);
  $('esc-accept').addEventListener('click', accept);
  $('info-send').addEventListener('click', askAgent);
  $('answer-send').addEventListener('click', answer);
  $('reject-send').addEventListener('click', reject);
  $('problems-status').addEventListener('change', loadProblems);
  $('problems-refresh').addEventListener('click', loadProblems);
  $('problem-form').addEventListener('submit', createProblem);
  $('problem-close').addEventListener('click', closeProblem);
  $('link-send').addEventListener('click', linkRequests);
  $('resolve-send').addEventListener('click', resolveProblem);
  $('problem-confirm').addEventListener('click', () => problemAction($('problem-confirm'), 'confirm', {},
    (p) => t('confirmed_done', { number: p.number })));
  $('problem-dismiss').addEventListener('click', () => problemAction($('problem-dismiss'), 'dismiss', {},
    (p) => t('dismissed_done', { number: p.number })));
  $('figures-refresh').addEventListener('click', loadStats);
  if (restoreSession()) startApp();
}

// A module runs once the document is parsed.
init().catch(showError);
