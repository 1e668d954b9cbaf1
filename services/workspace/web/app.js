// Komek workspace page (agents and supervisors): the entry module. Plain JavaScript modules, no
// build step, no external assets; it signs in, keeps the session, switches the tabs and wires the
// panels, each in its own module under /js/ (web/js/). The staff pages' shared helpers come from
// /staff.js (libs/web/assets/staff.js). Everything that comes from the server is put on the page
// as text (textContent), never as HTML.

import {
  meta, $, label, fillCodes, t, api, showError, restoreSession, showSignedIn, signedOut, setup, live, logout,
} from '/staff.js';
import { state, isSupervisor, showTab, useLoaders, schedule, cancelReloads } from './js/state.js';
import { onNote, renderFeed } from './js/feed.js';
import { saveSession, setPresence, renderPresence } from './js/presence.js';
import { loadOffers, renderOffers, tickCountdowns } from './js/offers.js';
import { loadQueue, renderQueue, takeNext } from './js/queue.js';
import { search, runSearch, renderSearch } from './js/search.js';
import {
  showRequestPanel, openRequest, loadRequest, renderRequest, giveInfo, linkProblem, updateActionState, pickTemplate,
  act, loadDepartments, renderDepartments,
} from './js/request.js';
import { loadSupervisor, renderSupervisor, reassign } from './js/supervision.js';
import { loadProblems, renderProblems, renderSpikeAlert } from './js/problems.js';
import {
  loadTemplates, renderTemplates, editTemplate, renderTemplateForm, saveTemplate, deleteTemplate,
} from './js/templates.js';
import {
  loadPeople, renderPeople, editPerson, renderPersonForm, savePerson, setPassword, setActive, cancelPerson,
} from './js/people.js';

/** After the language changed: the selects whose options are codes, and everything drawn from data. */
function onLang() {
  fillCodes($('search-status'), meta.statuses, 'st_', t('any_status'));
  fillCodes($('tpl-filter-category'), meta.categories, 'cat_', t('all'));
  fillCodes($('tpl-filter-language'), meta.languages, 'lang_', t('all'));
  fillCodes($('tpl-category'), meta.categories, 'cat_');
  fillCodes($('tpl-language'), meta.languages, 'lang_');
  renderAll();
}

function renderAll() {
  if (!state.user) return;
  renderWhoami();
  renderPresence();
  renderOffers();
  renderQueue();
  renderSearch();
  renderFeed();
  renderDepartments();
  if (state.view) renderRequest(false);
  if (isSupervisor()) {
    renderSupervisor();
    renderProblems();
    renderTemplates();
    renderTemplateForm();
    renderPeople();
    renderPersonForm();
  }
  renderSpikeAlert();
}

// ---------------------------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------------------------
function signedIn() {
  state.presence = null;
  saveSession();
  enterApp();
}

/** A reload keeps the session: an expired access token is refreshed on the first call. */
function resumeSession() {
  const saved = restoreSession();
  if (!saved) return false;
  state.presence = saved.presence || null;
  return true;
}

function enterApp() {
  showSignedIn(true);
  $('tabs').hidden = !isSupervisor();
  showTab(isSupervisor() ? 'supervise' : 'work');
  renderAll();
  state.live = live({ onNote, onOpen: refreshAll });
  refreshAll();
}

/** Leaves the signed-in state locally (the token is forgotten; the socket closed). */
function endSession(message) {
  if (state.live) state.live.stop();
  state.live = null;
  cancelReloads();
  Object.assign(state, {
    expiresAt: 0, presence: null, queue: null, offers: [], current: null, view: null,
    sv: null, templates: [], tplEditing: null, people: null, admEditing: null, searchResult: null, searchParams: null, feed: [],
    problems: null, knownProblems: null, spikeAlerts: [],
  });
  state.offerExpiry.clear();
  for (const id of ['offers-list', 'queue-list', 'mine-list', 'search-results', 'live-feed', 'sv-agents',
    'sv-queues', 'sv-watchlist', 'sv-problems', 'spike-alert-list', 'tpl-list', 'adm-list', 'reassign-agent']) {
    $(id).replaceChildren();
  }
  for (const id of ['reply-text', 'note-text', 'esc-reason', 'resolution-text', 'reassign-request', 'search-number',
    'search-phone', 'search-words']) {
    $(id).value = '';
  }
  $('search-total').textContent = '';
  $('reassign-result').textContent = '';
  $('tpl-form').hidden = true;
  $('adm-form').hidden = true;
  $('spike-alert').hidden = true;
  showRequestPanel(false);
  signedOut(message);
  $('login-login').focus();
}

async function signOut() {
  // An agent who leaves stops getting offers.
  if (state.user && state.user.role === 'agent' && state.presence !== 'offline') {
    try { await api('PUT', '/api/v1/presence', { state: 'offline' }); } catch (_) { /* leaving anyway */ }
  }
  // The session ends on the server too: its tokens stop working on every service.
  await logout();
  endSession('');
}

function renderWhoami() {
  if (!state.user) return;
  $('whoami').textContent = `${state.user.name} (${state.user.login}, ${label('role_', state.user.role)})`;
}

// ---------------------------------------------------------------------------------------------
// Refreshing: every panel reloads from the API when a push says it changed.
// ---------------------------------------------------------------------------------------------
const LOADERS = {
  queue: () => loadQueue(),
  offers: () => loadOffers(),
  request: () => (state.current ? loadRequest(state.current, false) : null),
  sv: () => (isSupervisor() ? loadSupervisor() : null),
  problems: () => (isSupervisor() ? loadProblems() : null),
  templates: () => (isSupervisor() ? loadTemplates() : null),
  people: () => (isSupervisor() ? loadPeople() : null),
  departments: () => loadDepartments(),
  search: () => (state.searchParams ? runSearch() : null),
};
useLoaders(LOADERS);

function refreshAll() {
  schedule('queue', 'offers', 'departments', 'request', 'sv', 'problems', 'templates', 'people');
}

// ---------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------
function wire() {
  $('signout').addEventListener('click', signOut);
  for (const b of document.querySelectorAll('#tabs [data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  for (const b of document.querySelectorAll('#presence [data-presence]')) {
    b.addEventListener('click', () => setPresence(b.dataset.presence, b));
  }
  $('take-next').addEventListener('click', (e) => takeNext(e.currentTarget));
  $('search-form').addEventListener('submit', search);
  $('req-close').addEventListener('click', () => {
    state.current = null;
    state.view = null;
    showRequestPanel(false);
    renderQueue();
  });
  $('template-select').addEventListener('change', pickTemplate);
  $('reply-form').addEventListener('submit', (e) => act(e, 'replies', 'reply-text', 'text', 'reply-send',
    $('reply-wait').checked ? { wait_for_customer: true } : undefined));
  $('note-form').addEventListener('submit', (e) => act(e, 'notes', 'note-text', 'text', 'note-send'));
  $('escalate-form').addEventListener('submit', (e) => act(e, 'escalations', 'esc-reason', 'reason', 'esc-send',
    { department: $('esc-department').value }));
  $('resolve-form').addEventListener('submit', (e) => act(e, 'resolve', 'resolution-text', 'resolution', 'resolve-send'));
  $('info-form').addEventListener('submit', giveInfo);
  $('problem-form').addEventListener('submit', linkProblem);
  $('sv-refresh').addEventListener('click', () => schedule('sv', 'problems', 'templates', 'people'));
  $('spike-dismiss').addEventListener('click', () => {
    state.spikeAlerts = [];
    renderSpikeAlert();
  });
  $('spike-show').addEventListener('click', () => {
    showTab('supervise');
    $('sv-problems-card').scrollIntoView({ block: 'start' });
  });
  $('reassign-form').addEventListener('submit', reassign);
  $('tpl-filter-category').addEventListener('change', renderTemplates);
  $('tpl-filter-language').addEventListener('change', renderTemplates);
  $('tpl-new').addEventListener('click', () => editTemplate(null));
  $('tpl-form').addEventListener('submit', saveTemplate);
  $('tpl-delete').addEventListener('click', deleteTemplate);
  $('tpl-cancel').addEventListener('click', () => {
    state.tplEditing = null;
    renderTemplateForm();
  });
  $('adm-new').addEventListener('click', () => editPerson(null));
  $('adm-form').addEventListener('submit', savePerson);
  $('adm-set-password').addEventListener('click', setPassword);
  $('adm-cancel').addEventListener('click', cancelPerson);
  // Delegated clicks: links and buttons that open a request, edit a template, prefill reassignment.
  document.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const open = target.closest('.open[data-request-id]');
    if (open) {
      e.preventDefault();
      openRequest(open.dataset.requestId).catch(showError);
      return;
    }
    const edit = target.closest('.tpl-edit[data-id]');
    if (edit) {
      editTemplate(edit.dataset.id);
      return;
    }
    const person = target.closest('.adm-edit[data-login]');
    if (person) {
      editPerson(person.dataset.login);
      return;
    }
    const toggle = target.closest('.adm-deactivate[data-login], .adm-activate[data-login]');
    if (toggle) {
      setActive(toggle, toggle.dataset.login, toggle.classList.contains('adm-activate')).catch(showError);
      return;
    }
    const pick = target.closest('.reassign-pick[data-number]');
    if (pick) {
      $('reassign-request').value = pick.dataset.number;
      $('reassign-agent').focus();
    }
  });
  setInterval(tickCountdowns, 1000);
}

async function start() {
  wire();
  await setup({
    state,
    prefix: 'ws',
    roles: ['agent', 'supervisor'],
    sessionKey: 'komek.session',
    langKey: 'komek.lang',
    onLang,
    onSignedIn: signedIn,
    onExpired: endSession,
    afterBusy: () => {
      if (state.view) updateActionState();
    },
  });
  if (resumeSession()) enterApp();
  else $('login-login').focus();
}

// A module runs once the document is parsed.
start().catch(showError);
