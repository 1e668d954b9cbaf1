// Komek department page: department staff work the escalations and problems of their department;
// heads also see its figures. Plain JavaScript, no build step, no external assets; the staff pages'
// shared helpers come from /staff.js (libs/web/assets/staff.js). Everything that comes from the
// server is put on the page as text (textContent), never as HTML.
'use strict';

(() => {
  const {
    LANGS, CATEGORIES, $, t, label, el, setText, listOrNone, fillSelect, fillCodes, fmtTime, fmtTenge, fmtSpan,
    secondsUntil, snippet, flash, api, showError, busy, saveSession, restoreSession, showSignedIn, signedOut,
  } = Staff;

  // ---------------------------------------------------------------------------------------------
  // Interface strings of this page (the shared ones are in /staff.js): each key with its
  // translations; a missing one falls back to English.
  // ---------------------------------------------------------------------------------------------
  const I18N = {
    app_subtitle: { kk: 'бөлімдер', ru: 'отделы', en: 'departments' },
    staff_only: { en: 'This page is for department staff' },
    tab_queue: { kk: 'Эскалациялар', ru: 'Эскалации', en: 'Escalations' },
    tab_problems: { kk: 'Мәселелер', ru: 'Проблемы', en: 'Problems' },
    tab_figures: { kk: 'Көрсеткіштер', ru: 'Показатели', en: 'Figures' },
    queue: { kk: 'Кезек', ru: 'Очередь', en: 'Queue' },
    filter_mine: { kk: 'Тек менікі', ru: 'Только мои', en: 'Mine only' },
    filter_answered: { kk: 'Жауап берілгендер', ru: 'Отвеченные', en: 'Answered' },
    updated_at: { en: 'Updated {t}; refreshed every 15 s' },
    queue_empty: { en: 'Nothing here.' },
    col_request: { kk: 'Өтініш', ru: 'Обращение', en: 'Request' },
    col_due: { kk: 'Мерзім', ru: 'Срок', en: 'Deadline' },
    col_tier: { kk: 'Желі', ru: 'Линия', en: 'Tier' },
    col_status: { kk: 'Күйі', ru: 'Статус', en: 'Status' },
    col_assignee: { kk: 'Орындаушы', ru: 'Исполнитель', en: 'Assignee' },
    escalation: { kk: 'Эскалация', ru: 'Эскалация', en: 'Escalation' },
    agent: { kk: 'Оператор', ru: 'Оператор', en: 'Agent' },
    path: { kk: 'Жолы', ru: 'Маршрут', en: 'Path' },
    answer: { kk: 'Жауап', ru: 'Ответ', en: 'Answer' },
    ask_agent: { kk: 'Операторға сұрақ', ru: 'Спросить оператора', en: 'Ask the agent' },
    question: { kk: 'Сұрақ', ru: 'Вопрос', en: 'Question' },
    send_question: { kk: 'Сұрақты жіберу', ru: 'Отправить вопрос', en: 'Send the question' },
    answer_text: { kk: 'Операторға жауап', ru: 'Ответ оператору', en: 'Answer for the agent' },
    outcome: { kk: 'Нәтиже', ru: 'Итог', en: 'Outcome' },
    outcome_resolved: { kk: 'Шешілді', ru: 'Решено', en: 'Resolved' },
    outcome_decision: { kk: 'Клиентке шешім', ru: 'Решение для клиента', en: 'Decision for the customer' },
    send_answer: { kk: 'Жауапты жіберу', ru: 'Отправить ответ', en: 'Send the answer' },
    reject: { kk: 'Басқа бөлімдікі', ru: 'Не наш отдел', en: 'Wrong department' },
    belongs_to: { kk: 'Қай бөлімге', ru: 'Относится к', en: 'It belongs to' },
    send_reject: { kk: 'Сол бөлімге жіберу', ru: 'Передать в этот отдел', en: 'Send to that department' },
    notes: { kk: 'Операторлар жазбалары', ru: 'Заметки операторов', en: "Agents' notes" },
    steps: { kk: 'Қадамдар', ru: 'Шаги', en: 'Steps' },
    history: { kk: 'Өтініш тарихы', ru: 'История обращения', en: 'Request history' },
    services: { en: 'Services' },
    other_requests: { en: "The customer's requests" },
    left: { en: '{t} left' },
    overdue_by: { en: 'overdue by {t}' },
    paused: { en: 'paused: waiting for the agent' },
    no_deadline: { en: 'no deadline' },
    answered_at: { en: 'answered {t}' },
    nobody: { en: '—' },
    tier_first_line: { en: 'first line' },
    tier_second_line: { en: 'second line' },
    tier_head: { en: 'head' },
    est_open: { en: 'Open' },
    est_accepted: { en: 'Accepted' },
    est_info_requested: { en: 'Waiting for the agent' },
    est_answered: { en: 'Answered' },
    out_resolved: { en: 'resolved' },
    out_decision: { en: 'decision' },
    step_opened: { en: 'Opened' },
    step_accepted: { en: 'Accepted' },
    step_info_requested: { en: 'Asked the agent' },
    step_info_given: { en: 'The agent answered' },
    step_answered: { en: 'Answered' },
    step_rerouted: { en: 'Sent to another department' },
    step_breached: { en: 'Deadline breached' },
    step_flagged: { en: 'Flagged: bounced between departments' },
    kind_customer: { en: 'Customer' },
    kind_reply: { en: 'Agent' },
    accepted_done: { en: 'You took {number}' },
    asked_done: { en: 'The question went to the agent' },
    answered_done: { en: 'The answer went to the agent' },
    rejected_done: { en: '{number} went to {department}' },
    choose_department: { en: 'Choose the department' },
    problems: { kk: 'Мәселелер', ru: 'Проблемы', en: 'Problems' },
    st_all_active: { en: 'Open and candidates' },
    problems_empty: { en: 'No problems.' },
    pst_candidate: { en: 'Candidate' },
    pst_open: { en: 'Open' },
    pst_resolved: { en: 'Resolved' },
    pst_dismissed: { en: 'Dismissed' },
    pst_all: { en: 'All' },
    new_problem: { kk: 'Жаңа мәселе', ru: 'Новая проблема', en: 'New problem' },
    title: { kk: 'Атауы', ru: 'Название', en: 'Title' },
    description: { kk: 'Сипаттама', ru: 'Описание', en: 'Description' },
    create: { kk: 'Құру', ru: 'Создать', en: 'Create' },
    linked: { kk: 'Байланысты өтініштер', ru: 'Связанные обращения', en: 'Linked requests' },
    spike: { en: 'Spike' },
    confirm: { en: 'Confirm for my department' },
    dismiss: { en: 'Dismiss' },
    link_numbers: { en: 'Link requests by number (separated by spaces, commas or lines)' },
    link: { kk: 'Байланыстыру', ru: 'Связать', en: 'Link' },
    resolve_problem: { en: 'Resolve: the message each customer gets' },
    resolve: { kk: 'Мәселені шешу', ru: 'Решить проблему', en: 'Resolve the problem' },
    created_done: { en: '{number} created' },
    linked_done: { en: 'Linked: {n} (already linked: {already})' },
    refused_one: { en: '{number} stays with {problem}' },
    resolved_done: { en: '{number} resolved' },
    confirmed_done: { en: '{number} confirmed' },
    dismissed_done: { en: '{number} dismissed' },
    more_requests: { en: 'More are linked than shown (the first 200).' },
    no_numbers: { en: 'Write at least one request number' },
    spike_text: { en: '{count} in {minutes} min (usual {mean})' },
    any: { en: '—' },
    cat_network: { en: 'Network quality' },
    figures: { kk: 'Бөлім көрсеткіштері', ru: 'Показатели отдела', en: 'Department figures' },
    fig_active: { en: 'Active escalations' },
    fig_overdue: { en: 'Overdue now' },
    fig_breached_total: { en: 'Deadlines breached (all time)' },
    fig_answered_7d: { en: 'Answered in 7 days' },
    fig_answered_30d: { en: 'Answered in 30 days' },
    fig_median_answer_minutes: { en: 'Median time to answer (min, 30 days)' },
    fig_p90_answer_minutes: { en: '90th percentile time to answer (min, 30 days)' },
    fig_answered_within_deadline: { en: 'Answered within the deadline (30 days)' },
    fig_bounced: { en: 'Flagged for bouncing' },
    fig_by_status: { en: 'Active by status' },
    fig_by_tier: { en: 'Active by tier' },
  };
  const REFRESH_MS = 15000;
  const HEAD_LEVEL = 3;

  const state = {
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
    live: null, // the live connection (Staff.live)
  };

  /** The deadline of an escalation as text, and whether it is overdue. */
  function deadline(e) {
    if (e.status === 'answered') return { text: t('answered_at', { t: fmtTime(e.answered_at) }), overdue: false, state: 'answered' };
    if (e.paused_at) return { text: t('paused'), overdue: false, state: 'paused' };
    if (!e.due_at) return { text: t('no_deadline'), overdue: false, state: 'none' };
    const left = secondsUntil(e.due_at);
    if (left < 0) return { text: t('overdue_by', { t: fmtSpan(-left) }), overdue: true, state: 'overdue' };
    return { text: t('left', { t: fmtSpan(left) }), overdue: false, state: 'running' };
  }

  /** Fills `node` with the deadline of `e` (its due time in the title). */
  function showDeadline(node, e) {
    const d = deadline(e);
    node.textContent = d.text;
    node.classList.toggle('overdue', d.overdue);
    node.dataset.overdue = String(d.overdue);
    node.dataset.state = d.state;
    if (e.due_at) node.title = fmtTime(e.due_at);
  }

  const enc = encodeURIComponent;

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
    fillCodes($('problem-category'), CATEGORIES, 'cat_', t('any'));
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
  const me = () => (state.user ? state.user.login : null);
  const isHead = () => Boolean(state.user && Number(state.user.level) >= HEAD_LEVEL);

  function endSession(message) {
    if (state.live) state.live.stop();
    state.live = null;
    batch.cancel();
    clearInterval(state.refreshTimer);
    clearInterval(state.tickTimer);
    Object.assign(state, { queue: [], ctx: null, problems: [], problem: null, stats: null });
    signedOut(message);
  }

  function renderWhoami() {
    const u = state.user;
    setText('whoami', `${u.name} (${u.login}) · ${u.department || ''} · ${label('tier_', tierOf(u.level))}`);
  }

  const tierOf = (level) => (Number(level) >= 3 ? 'head' : Number(level) === 2 ? 'second_line' : 'first_line');

  function startApp() {
    showSignedIn(true);
    $('tab-figures').hidden = !isHead();
    setText('figures-department', state.user.department); // known before the figures load
    renderWhoami();
    showTab('queue');
    loadDepartments();
    refreshAll();
    state.live = Staff.live({ onNote, onOpen: refreshAll });
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

  const batch = Staff.batcher(LOADERS, 300);
  /** Reads the named parts again, once for a burst of pushes (a problem linking 1,000 requests). */
  const schedule = (...names) => batch.schedule(...names);

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

  /** The deadlines count down between refreshes. */
  function tick() {
    const byId = new Map(state.queue.map((e) => [e.id, e]));
    for (const node of document.querySelectorAll('#queue-body [data-due-of]')) {
      const e = byId.get(node.dataset.dueOf);
      if (e) showDeadline(node, e);
    }
    if (state.ctx) showDeadline($('esc-due'), state.ctx.escalation);
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
  // The queue
  // ---------------------------------------------------------------------------------------------
  async function loadQueue() {
    const status = $('filter-answered').checked ? 'answered' : 'active';
    const mine = $('filter-mine').checked ? '&mine=true' : '';
    try {
      state.queue = (await api('GET', `/api/v1/escalations?status=${status}${mine}`)) || [];
      state.queueAt = new Date().toISOString();
      renderQueue();
    } catch (e) {
      showError(e);
    }
  }

  function renderQueue() {
    const rows = state.queue.map((e) => {
      const due = el('td', { className: 'due', data: { dueOf: e.id }, testid: 'esc-due' });
      showDeadline(due, e);
      return el('tr', {
        testid: 'esc-row',
        data: { escalationId: e.id, number: e.number, status: e.status, tier: e.tier },
        className: state.ctx && state.ctx.escalation.id === e.id ? 'current' : null,
      },
      el('td', {}, el('strong', { text: e.number }), el('div', { className: 'muted small', text: snippet(e.reason, 80) })),
      due,
      el('td', { text: label('tier_', e.tier), testid: 'esc-tier' }),
      el('td', {}, el('span', { className: 'pill', data: { status: e.status }, text: label('est_', e.status), testid: 'esc-status' })),
      el('td', { text: e.assignee || t('nobody'), testid: 'esc-assignee' }),
      el('td', {}, el('button', { type: 'button', testid: 'esc-open', text: t('open'), onclick: () => openEscalation(e.id) })));
    });
    $('queue-body').replaceChildren(...rows);
    $('queue-empty').hidden = rows.length > 0;
    setText('queue-count', state.queue.length);
    $('queue-updated').textContent = state.queueAt ? t('updated_at', { t: fmtTime(state.queueAt) }) : '';
  }

  // ---------------------------------------------------------------------------------------------
  // One escalation
  // ---------------------------------------------------------------------------------------------
  /**
   * Opens escalation `id`: a fresh panel (fields cleared, scrolled to). With `refresh`, the open
   * panel is read again after a live push and what the person is typing stays.
   */
  async function openEscalation(id, refresh) {
    try {
      const ctx = await api('GET', `/api/v1/escalations/${enc(id)}/context`);
      const current = state.ctx && state.ctx.escalation.id === id;
      if (refresh && !current) return; // closed, or another opened, meanwhile
      state.ctx = ctx;
      if (!refresh) for (const f of ['info-question', 'answer-text', 'reject-reason']) $(f).value = '';
      renderContext();
      renderQueue();
      if (!refresh) $('esc-panel').scrollIntoView({ block: 'start' });
    } catch (e) {
      if (e.status === 404) {
        // Gone from this department (rerouted): the panel closes. After a push that is news,
        // not an error of the person's.
        if (!refresh || (state.ctx && state.ctx.escalation.id === id)) closeEscalation();
        loadQueue();
        if (refresh) return;
      }
      showError(e);
    }
  }

  async function reloadContext() {
    if (!state.ctx) return;
    await openEscalation(state.ctx.escalation.id);
  }

  function closeEscalation() {
    state.ctx = null;
    $('esc-panel').hidden = true;
    $('esc-panel').removeAttribute('data-escalation-id');
    renderQueue();
  }

  function renderContext() {
    const { escalation: e, request: r, history, customer } = state.ctx;
    const panel = $('esc-panel');
    panel.hidden = false;
    panel.dataset.escalationId = e.id;
    panel.dataset.status = e.status;
    setText('esc-number', e.number);
    const status = $('esc-status');
    status.textContent = label('est_', e.status);
    status.dataset.status = e.status;
    setText('esc-tier', label('tier_', e.tier));
    setText('esc-assignee', e.assignee || t('nobody'));
    showDeadline($('esc-due'), e);
    setText('esc-agent', e.agent);
    setText('esc-reason', e.reason);
    setText('esc-path', (e.path || []).join(' → '));
    setText('esc-answer', e.answer ? `${e.answer} (${label('out_', e.outcome)})` : '');

    setText('req-summary', `${r.number} · ${label('cat_', r.category)} · ${r.language} · ${r.channel} · ${fmtTime(r.created_at)}`);
    setText('req-text', r.subject ? `${r.subject}\n${r.text}` : r.text);
    $('req-messages').replaceChildren(...(r.messages || []).map((m) => el('li', { data: { kind: m.kind } },
      el('div', { className: 'meta', text: `${label('kind_', m.kind)} · ${fmtTime(m.at)}` }),
      el('div', { className: 'pre', text: m.text }))));
    listOrNone('req-notes', (r.notes || []).map((n) => el('li', { data: { author: n.author } },
      el('div', { className: 'meta', text: `${n.author} · ${fmtTime(n.at)}` }),
      el('div', { className: 'pre', text: n.text }))));

    renderCustomer(customer);

    $('esc-steps').replaceChildren(...(e.steps || []).map((s) => el('li', { data: { action: s.action } },
      el('span', { className: 'meta', text: `${fmtTime(s.at)} · ${s.actor} · ${s.department}` }), ' ',
      el('strong', { text: label('step_', s.action) }),
      s.detail ? el('div', { className: 'pre', text: s.detail }) : null)));

    $('req-history').replaceChildren(...(history || []).map((h) => el('tr', { data: { action: h.action } },
      el('td', { text: fmtTime(h.at) }), el('td', { text: h.actor }), el('td', { text: h.action }),
      el('td', { className: 'pre', text: h.detail || '' }))));
    renderDepartments();
    updateActions();
  }

  function renderCustomer(c) {
    const box = $('customer-box');
    const p = (c && c.profile) || null;
    const r = state.ctx.request.customer || {};
    box.dataset.source = c ? c.source : 'none';
    box.dataset.degraded = String(Boolean(c && c.degraded));
    $('cust-degraded').hidden = !(c && c.degraded);
    setText('cust-name', p ? p.name : r.name);
    setText('cust-phone', p ? p.msisdn : r.msisdn);
    setText('cust-email', p ? p.email : r.email);
    setText('cust-segment', p ? p.segment : '');
    setText('cust-region', p ? p.region : '');
    setText('cust-tariff', p ? p.tariff : '');
    setText('cust-balance', p ? fmtTenge(p.balance_tenge) : '');
    const list = (id, items, line) => listOrNone(id, (items || []).map((x) => el('li', { text: line(x) })));
    list('cust-services', c && c.services, (s) => `${s.name} (${fmtTenge(s.monthly_fee_tenge)})`);
    list('cust-charges', c && c.charges, (m) => `${m.date} · ${fmtTenge(m.amount_tenge)} · ${m.description}`);
    list('cust-requests', c && c.requests, (q) => `${q.number} · ${q.status} · ${fmtTime(q.created_at)} · ${q.snippet}`);
  }

  /** Buttons follow what the escalation's status allows (the server has the last word). */
  function updateActions() {
    const e = state.ctx && state.ctx.escalation;
    const active = Boolean(e && e.status !== 'answered');
    $('esc-actions').hidden = !active;
    if (!e) return;
    $('esc-accept').disabled = !(e.status === 'open' || (e.status === 'accepted' && e.assignee !== me()));
    $('info-send').disabled = !(e.status === 'open' || e.status === 'accepted');
    $('answer-send').disabled = !active;
    $('reject-send').disabled = !active;
  }

  async function act(button, path, body, done) {
    const e = state.ctx.escalation;
    await busy(button, async () => {
      const after = await api('POST', `/api/v1/escalations/${enc(e.id)}/${path}`, body);
      flash(done(after), 'info');
      await loadQueue();
      if (after && after.department && state.user && after.department !== state.user.department) {
        closeEscalation();
      } else {
        await reloadContext();
      }
    });
  }

  function required(id) {
    const v = $(id).value.trim();
    if (!v) {
      flash(t('empty_text'), 'error');
      $(id).focus();
    }
    return v;
  }

  function accept() {
    act($('esc-accept'), 'accept', {}, (e) => t('accepted_done', { number: e.number }));
  }

  function askAgent() {
    const question = required('info-question');
    if (question) act($('info-send'), 'request-info', { question }, () => t('asked_done'));
  }

  function answer() {
    const text = required('answer-text');
    const outcome = $('answer-outcome').value;
    if (text) act($('answer-send'), 'answer', { text, outcome }, () => t('answered_done'));
  }

  function reject() {
    const department = $('reject-department').value;
    if (!department) {
      flash(t('choose_department'), 'error');
      return;
    }
    const reason = required('reject-reason');
    if (reason) {
      act($('reject-send'), 'reject', { reason, department },
        (e) => t('rejected_done', { number: e.number, department: e.department }));
    }
  }

  async function loadDepartments() {
    try {
      state.departments = (await api('GET', '/api/v1/departments')) || [];
      renderDepartments();
    } catch (e) {
      showError(e);
    }
  }

  function renderDepartments() {
    const others = state.departments.filter((d) => !state.user || d.code !== state.user.department);
    fillSelect($('reject-department'), others.map((d) => [d.code, `${d.name} (${d.code})`]), t('choose_department'));
  }

  // ---------------------------------------------------------------------------------------------
  // Problems
  // ---------------------------------------------------------------------------------------------
  async function loadProblems() {
    const status = $('problems-status').value;
    try {
      const data = await api('GET', '/api/v1/problems' + (status ? `?status=${enc(status)}` : ''));
      state.problems = Array.isArray(data) ? data : (data && data.problems) || [];
      renderProblems();
    } catch (e) {
      showError(e);
    }
  }

  function renderProblems() {
    const items = state.problems.map((p) => el('li', {
      testid: 'problem', data: { problemId: p.id, number: p.number, status: p.status },
      className: state.problem && state.problem.problem.id === p.id ? 'current' : null,
    },
    el('div', {},
      el('strong', { text: p.number }), ' ', el('span', { text: p.title }), ' ',
      el('span', { className: 'pill', data: { status: p.status }, text: label('pst_', p.status) })),
    el('div', { className: 'muted small', text: `${t('linked')}: ${p.linked || 0} · ${fmtTime(p.created_at)}` }),
    el('button', { type: 'button', testid: 'problem-open', text: t('open'), onclick: () => openProblem(p.id) })));
    $('problems-list').replaceChildren(...items);
    $('problems-empty').hidden = items.length > 0;
  }

  async function createProblem(ev) {
    ev.preventDefault();
    const title = required('problem-title');
    if (!title) return;
    const body = { title };
    const description = $('problem-description').value.trim();
    const category = $('problem-category').value;
    const region = $('problem-region').value.trim();
    if (description) body.description = description;
    if (category) body.category = category;
    if (region) body.region = region;
    await busy($('problem-create'), async () => {
      const p = await api('POST', '/api/v1/problems', body);
      flash(t('created_done', { number: p.number }), 'info');
      for (const f of ['problem-title', 'problem-description', 'problem-region']) $(f).value = '';
      await loadProblems();
      await openProblem(p.id);
    });
  }

  async function openProblem(id) {
    try {
      state.problem = await api('GET', `/api/v1/problems/${enc(id)}`);
      renderProblem();
      renderProblems();
    } catch (e) {
      showError(e);
    }
  }

  function renderProblem() {
    const { problem: p, requests, more } = state.problem;
    const panel = $('problem-panel');
    panel.hidden = false;
    panel.dataset.problemId = p.id;
    panel.dataset.status = p.status;
    setText('problem-number', p.number);
    setText('problem-title-view', p.title);
    const status = $('problem-status');
    status.textContent = label('pst_', p.status);
    status.dataset.status = p.status;
    setText('problem-department', p.department);
    setText('problem-category-view', p.category ? label('cat_', p.category) : '');
    setText('problem-region-view', p.region);
    setText('problem-linked', p.linked);
    setText('problem-description-view', p.description);
    setText('problem-spike', p.spike
      ? t('spike_text', { count: p.spike.count, minutes: p.spike.window_minutes, mean: p.spike.baseline_mean })
      : '');
    const res = p.resolution || {};
    setText('problem-resolution', LANGS.filter((l) => res[l]).map((l) => `${l}: ${res[l]}`).join('\n'));
    $('problem-candidate-actions').hidden = p.status !== 'candidate';
    $('problem-open-actions').hidden = !(p.status === 'candidate' || p.status === 'open');
    $('problem-requests').replaceChildren(...(requests || []).map((r) => el('li', {
      testid: 'problem-request', data: { number: r.number, status: r.status },
    }, el('strong', { text: r.number }), ' ', el('span', { className: 'muted', text: requestLine(r) }))));
    $('problem-more').textContent = more ? t('more_requests') : '';
  }

  const requestLine = (r) => [r.status, r.language, r.channel, label('cat_', r.category)].join(' · ');

  async function problemAction(button, path, body, done) {
    const p = state.problem.problem;
    await busy(button, async () => {
      const out = await api('POST', `/api/v1/problems/${enc(p.id)}/${path}`, body);
      flash(done(out), 'info');
      await openProblem(p.id);
      await loadProblems();
    });
  }

  function linkRequests() {
    const numbers = $('link-numbers').value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
    if (!numbers.length) {
      flash(t('no_numbers'), 'error');
      return;
    }
    problemAction($('link-send'), 'requests', { numbers }, (out) => {
      $('link-numbers').value = '';
      const refused = (out.refused || []).map((r) => t('refused_one', { number: r.number, problem: r.problem_number }));
      return [t('linked_done', { n: out.linked, already: out.already }), ...refused].join('; ');
    });
  }

  function resolveProblem() {
    const messages = {};
    for (const l of LANGS) {
      const v = $(`resolve-${l}`).value.trim();
      if (v) messages[l] = v;
    }
    if (!Object.keys(messages).length) {
      flash(t('empty_text'), 'error');
      return;
    }
    const number = state.problem.problem.number;
    problemAction($('resolve-send'), 'resolve', { messages }, () => {
      for (const l of LANGS) $(`resolve-${l}`).value = '';
      return t('resolved_done', { number });
    });
  }

  function closeProblem() {
    state.problem = null;
    $('problem-panel').hidden = true;
    renderProblems();
  }

  // ---------------------------------------------------------------------------------------------
  // Figures (heads)
  // ---------------------------------------------------------------------------------------------
  async function loadStats() {
    if (!isHead()) return;
    try {
      state.stats = await api('GET', '/api/v1/department/stats');
      renderStats();
    } catch (e) {
      showError(e);
    }
  }

  function figure(key, value) {
    if (value === null || value === undefined) return '—';
    if (key === 'answered_within_deadline') return `${Math.round(Number(value) * 1000) / 10} %`;
    if (typeof value === 'object') {
      return Object.entries(value).map(([k, v]) => `${label(k === 'head' || k.endsWith('_line') ? 'tier_' : 'est_', k)}: ${v}`).join(', ');
    }
    return String(value);
  }

  function renderStats() {
    const s = state.stats || {};
    setText('figures-department', s.department);
    const rows = Object.entries(s).filter(([k]) => k !== 'department').map(([k, v]) => el('tr', {
      testid: 'figure', data: { key: k },
    }, el('th', { text: label('fig_', k) }), el('td', { text: figure(k, v) })));
    $('figures-body').replaceChildren(...rows);
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------------
  function init() {
    buildFacts();
    Staff.setup({
      state,
      strings: I18N,
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
    $('signout').addEventListener('click', () => endSession(''));
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

  init();
})();
