// Komek department page: department staff work the escalations and problems of their department;
// heads also see its figures. Plain JavaScript, no build step, no external assets. Everything that
// comes from the server is put on the page as text (textContent), never as HTML.
'use strict';

(() => {
  // ---------------------------------------------------------------------------------------------
  // Interface strings. English is complete; Kazakh and Russian label the page (a missing key
  // falls back to English).
  // ---------------------------------------------------------------------------------------------
  const I18N = {
    en: {
      app_subtitle: 'departments', lang_label: 'Language',
      signin_title: 'Sign in', login: 'Login', password: 'Password', signin: 'Sign in', signout: 'Sign out',
      signin_failed: 'Wrong login or password', staff_only: 'This page is for department staff',
      session_expired: 'Your session has ended; please sign in again',
      err_network: 'The server cannot be reached', err_generic: 'Error: {msg}',
      tab_queue: 'Escalations', tab_problems: 'Problems', tab_figures: 'Figures',
      queue: 'Queue', filter_mine: 'Mine only', filter_answered: 'Answered', refresh: 'Refresh',
      updated_at: 'Updated {t}; refreshed every 15 s', queue_empty: 'Nothing here.',
      col_request: 'Request', col_due: 'Deadline', col_tier: 'Tier', col_status: 'Status', col_assignee: 'Assignee',
      open: 'Open', close: 'Close', escalation: 'Escalation', agent: 'Agent', reason: 'Reason', path: 'Path',
      answer: 'Answer', accept: 'Accept', ask_agent: 'Ask the agent', question: 'Question',
      send_question: 'Send the question', answer_text: 'Answer for the agent', outcome: 'Outcome',
      outcome_resolved: 'Resolved', outcome_decision: 'Decision for the customer', send_answer: 'Send the answer',
      reject: 'Wrong department', belongs_to: 'It belongs to', send_reject: 'Send to that department',
      conversation: 'Conversation', notes: "Agents' notes", customer: 'Customer', steps: 'Steps',
      history: 'Request history', when: 'When', who: 'Who', what: 'What', detail: 'Detail',
      customer_degraded: "Billing/CRM is unavailable; showing Komek's own data",
      name: 'Name', phone: 'Phone', email: 'Email', segment: 'Segment', region: 'Region', tariff: 'Tariff',
      balance: 'Balance', services: 'Services', charges: 'Recent charges', other_requests: "The customer's requests",
      none: 'None', left: '{t} left', overdue_by: 'overdue by {t}', paused: 'paused: waiting for the agent',
      no_deadline: 'no deadline', answered_at: 'answered {t}', nobody: '—',
      tier_first_line: 'first line', tier_second_line: 'second line', tier_head: 'head',
      est_open: 'Open', est_accepted: 'Accepted', est_info_requested: 'Waiting for the agent', est_answered: 'Answered',
      out_resolved: 'resolved', out_decision: 'decision',
      step_opened: 'Opened', step_accepted: 'Accepted', step_info_requested: 'Asked the agent',
      step_info_given: 'The agent answered', step_answered: 'Answered', step_rerouted: 'Sent to another department',
      step_breached: 'Deadline breached', step_flagged: 'Flagged: bounced between departments',
      kind_acknowledgment: 'Acknowledgment', kind_customer: 'Customer', kind_reply: 'Agent', kind_resolution: 'Resolution',
      accepted_done: 'You took {number}', asked_done: 'The question went to the agent',
      answered_done: 'The answer went to the agent', rejected_done: '{number} went to {department}',
      empty_text: 'Please write the text', choose_department: 'Choose the department',
      problems: 'Problems', st_all_active: 'Open and candidates', problems_empty: 'No problems.',
      pst_candidate: 'Candidate', pst_open: 'Open', pst_resolved: 'Resolved', pst_dismissed: 'Dismissed', pst_all: 'All',
      new_problem: 'New problem', title: 'Title', description: 'Description', category: 'Category',
      department: 'Department', create: 'Create', linked: 'Linked requests', spike: 'Spike',
      resolution: 'Resolution', confirm: 'Confirm for my department', dismiss: 'Dismiss',
      link_numbers: 'Link requests by number (separated by spaces, commas or lines)', link: 'Link',
      resolve_problem: 'Resolve: the message each customer gets', resolve: 'Resolve the problem',
      created_done: '{number} created', linked_done: 'Linked: {n} (already linked: {already})',
      refused_one: '{number} stays with {problem}', resolved_done: '{number} resolved',
      confirmed_done: '{number} confirmed', dismissed_done: '{number} dismissed',
      more_requests: 'More are linked than shown (the first 200).', no_numbers: 'Write at least one request number',
      spike_text: '{count} in {minutes} min (usual {mean})', any: '—',
      cat_billing: 'Billing', cat_network: 'Network quality', cat_internet: 'Mobile internet', cat_roaming: 'Roaming',
      cat_tariff: 'Tariff', cat_sim_card: 'SIM card', cat_other: 'Other',
      figures: 'Department figures',
      fig_active: 'Active escalations', fig_overdue: 'Overdue now', fig_breached_total: 'Deadlines breached (all time)',
      fig_answered_7d: 'Answered in 7 days', fig_answered_30d: 'Answered in 30 days',
      fig_median_answer_minutes: 'Median time to answer (min, 30 days)',
      fig_p90_answer_minutes: '90th percentile time to answer (min, 30 days)',
      fig_answered_within_deadline: 'Answered within the deadline (30 days)',
      fig_bounced: 'Flagged for bouncing', fig_by_status: 'Active by status', fig_by_tier: 'Active by tier',
    },
    ru: {
      app_subtitle: 'отделы', lang_label: 'Язык', signin_title: 'Вход', login: 'Логин', password: 'Пароль',
      signin: 'Войти', signout: 'Выйти', signin_failed: 'Неверный логин или пароль',
      tab_queue: 'Эскалации', tab_problems: 'Проблемы', tab_figures: 'Показатели',
      queue: 'Очередь', filter_mine: 'Только мои', filter_answered: 'Отвеченные', refresh: 'Обновить',
      col_request: 'Обращение', col_due: 'Срок', col_tier: 'Линия', col_status: 'Статус', col_assignee: 'Исполнитель',
      open: 'Открыть', close: 'Закрыть', escalation: 'Эскалация', agent: 'Оператор', reason: 'Причина', path: 'Маршрут',
      answer: 'Ответ', accept: 'Принять', ask_agent: 'Спросить оператора', question: 'Вопрос',
      send_question: 'Отправить вопрос', answer_text: 'Ответ оператору', outcome: 'Итог',
      outcome_resolved: 'Решено', outcome_decision: 'Решение для клиента', send_answer: 'Отправить ответ',
      reject: 'Не наш отдел', belongs_to: 'Относится к', send_reject: 'Передать в этот отдел',
      conversation: 'Переписка', notes: 'Заметки операторов', customer: 'Клиент', steps: 'Шаги',
      history: 'История обращения', problems: 'Проблемы', new_problem: 'Новая проблема', title: 'Название',
      description: 'Описание', category: 'Категория', department: 'Отдел', create: 'Создать',
      linked: 'Связанные обращения', link: 'Связать', resolve: 'Решить проблему', figures: 'Показатели отдела',
    },
    kk: {
      app_subtitle: 'бөлімдер', lang_label: 'Тіл', signin_title: 'Жүйеге кіру', login: 'Логин', password: 'Құпиясөз',
      signin: 'Кіру', signout: 'Шығу', signin_failed: 'Логин немесе құпиясөз қате',
      tab_queue: 'Эскалациялар', tab_problems: 'Мәселелер', tab_figures: 'Көрсеткіштер',
      queue: 'Кезек', filter_mine: 'Тек менікі', filter_answered: 'Жауап берілгендер', refresh: 'Жаңарту',
      col_request: 'Өтініш', col_due: 'Мерзім', col_tier: 'Желі', col_status: 'Күйі', col_assignee: 'Орындаушы',
      open: 'Ашу', close: 'Жабу', escalation: 'Эскалация', agent: 'Оператор', reason: 'Себебі', path: 'Жолы',
      answer: 'Жауап', accept: 'Қабылдау', ask_agent: 'Операторға сұрақ', question: 'Сұрақ',
      send_question: 'Сұрақты жіберу', answer_text: 'Операторға жауап', outcome: 'Нәтиже',
      outcome_resolved: 'Шешілді', outcome_decision: 'Клиентке шешім', send_answer: 'Жауапты жіберу',
      reject: 'Басқа бөлімдікі', belongs_to: 'Қай бөлімге', send_reject: 'Сол бөлімге жіберу',
      conversation: 'Хат алмасу', notes: 'Операторлар жазбалары', customer: 'Клиент', steps: 'Қадамдар',
      history: 'Өтініш тарихы', problems: 'Мәселелер', new_problem: 'Жаңа мәселе', title: 'Атауы',
      description: 'Сипаттама', category: 'Санат', department: 'Бөлім', create: 'Құру',
      linked: 'Байланысты өтініштер', link: 'Байланыстыру', resolve: 'Мәселені шешу', figures: 'Бөлім көрсеткіштері',
    },
  };
  const LANGS = ['kk', 'ru', 'en'];
  const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
  const CATEGORIES = ['billing', 'network', 'internet', 'roaming', 'tariff', 'sim_card', 'other'];
  const TIME_ZONE = 'Asia/Almaty';
  const SESSION_KEY = 'komek.dept.session';
  const LANG_KEY = 'komek.dept.lang';
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
    flashTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    let s = (I18N[state.lang] || I18N.en)[key];
    if (s === undefined) s = I18N.en[key];
    if (s === undefined) return key;
    if (vars) {
      for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
    }
    return s;
  }

  /** A label for a server code (`prefix` + code), or the code itself if there is none. */
  function label(prefix, code) {
    if (code === null || code === undefined || code === '') return '—';
    const key = prefix + String(code);
    return (I18N[state.lang] || I18N.en)[key] || I18N.en[key] || String(code);
  }

  /** Builds an element; strings among `children` become text nodes. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'className') node.className = v;
      else if (k === 'testid') node.setAttribute('data-testid', v);
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  function setText(id, value) {
    const node = $(id);
    if (node) node.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
  }

  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    try {
      return new Intl.DateTimeFormat(LOCALES[state.lang], { dateStyle: 'short', timeStyle: 'short', timeZone: TIME_ZONE }).format(d);
    } catch (_) {
      return d.toLocaleString();
    }
  }

  function fmtTenge(n) {
    if (n === null || n === undefined) return '—';
    let s;
    try {
      s = new Intl.NumberFormat(LOCALES[state.lang], { maximumFractionDigits: 0 }).format(Number(n));
    } catch (_) {
      s = String(n);
    }
    return `${s} ₸`;
  }

  /** A duration in seconds as `2 d 3:04` / `3:04:05` / `4:05`. */
  function fmtSpan(secs) {
    const s = Math.max(0, Math.floor(secs));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = s % 60;
    const pad = (x) => String(x).padStart(2, '0');
    if (d > 0) return `${d} d ${h}:${pad(m)}`;
    if (h > 0) return `${h}:${pad(m)}:${pad(r)}`;
    return `${m}:${pad(r)}`;
  }

  /** The deadline of an escalation as text, and whether it is overdue. */
  function deadline(e) {
    if (e.status === 'answered') return { text: t('answered_at', { t: fmtTime(e.answered_at) }), overdue: false, state: 'answered' };
    if (e.paused_at) return { text: t('paused'), overdue: false, state: 'paused' };
    if (!e.due_at) return { text: t('no_deadline'), overdue: false, state: 'none' };
    const left = (new Date(e.due_at).getTime() - Date.now()) / 1000;
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

  function flash(message, kind) {
    const box = $('flash');
    box.textContent = message;
    box.dataset.kind = kind || 'info';
    box.hidden = false;
    clearTimeout(state.flashTimer);
    state.flashTimer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 10000 : 5000);
  }

  // ---------------------------------------------------------------------------------------------
  // The API
  // ---------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function problemText(data, status) {
    if (data && typeof data === 'object') {
      const parts = [];
      if (data.detail) parts.push(String(data.detail));
      if (Array.isArray(data.errors)) for (const e of data.errors) parts.push(`${e.field}: ${e.message}`);
      if (parts.length) return parts.join('; ');
      if (data.title) return String(data.title);
    }
    return `HTTP ${status}`;
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (_) {
      throw new ApiError(0, t('err_network'));
    }
    if (res.status === 204) return null;
    const type = res.headers.get('content-type') || '';
    const data = type.includes('json') ? await res.json().catch(() => null) : null;
    if (!res.ok) {
      if (res.status === 401 && state.token && path !== '/api/v1/auth/login') endSession(t('session_expired'));
      throw new ApiError(res.status, problemText(data, res.status));
    }
    return data;
  }

  function showError(e) {
    if (e instanceof ApiError && e.status === 401) return; // the session ended; already said
    flash(t('err_generic', { msg: e && e.message ? e.message : String(e) }), 'error');
  }

  /** Runs `fn` with `button` disabled meanwhile; errors are shown. */
  async function busy(button, fn) {
    if (button) button.disabled = true;
    try {
      return await fn();
    } catch (e) {
      showError(e);
      return undefined;
    } finally {
      if (button) button.disabled = false;
      updateActions();
    }
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------------------------------------
  // Language
  // ---------------------------------------------------------------------------------------------
  function initialLang() {
    try {
      const saved = localStorage.getItem(LANG_KEY);
      if (LANGS.includes(saved)) return saved;
    } catch (_) { /* storage off */ }
    return 'en';
  }

  function setLang(lang, remember) {
    state.lang = LANGS.includes(lang) ? lang : 'en';
    if (remember) {
      try { localStorage.setItem(LANG_KEY, state.lang); } catch (_) { /* storage off */ }
    }
    document.documentElement.lang = state.lang;
    $('lang-select').value = state.lang;
    document.title = 'Komek — ' + t('app_subtitle');
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    const cat = $('problem-category');
    const keep = cat.value;
    cat.replaceChildren(el('option', { value: '', text: t('any') }),
      ...CATEGORIES.map((c) => el('option', { value: c, text: label('cat_', c) })));
    cat.value = keep;
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

  function saveSession() {
    try {
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: state.token, user: state.user }));
    } catch (_) { /* storage off */ }
  }

  function restoreSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (saved && saved.token && saved.user) {
        state.token = saved.token;
        state.user = saved.user;
        return true;
      }
    } catch (_) { /* storage off or bad data */ }
    return false;
  }

  async function signIn(ev) {
    ev.preventDefault();
    const login = $('login-login').value.trim();
    const password = $('login-password').value;
    $('login-error').textContent = '';
    await busy($('login-submit'), async () => {
      let ok;
      try {
        ok = await api('POST', '/api/v1/auth/login', { login, password });
      } catch (e) {
        $('login-error').textContent = e.status === 401 ? t('signin_failed') : e.message;
        return;
      }
      if (!ok.user || ok.user.role !== 'department_staff') {
        $('login-error').textContent = t('staff_only');
        return;
      }
      state.token = ok.token;
      state.user = ok.user;
      saveSession();
      $('login-password').value = '';
      startApp();
    });
  }

  function endSession(message) {
    clearInterval(state.refreshTimer);
    clearInterval(state.tickTimer);
    Object.assign(state, { token: null, user: null, queue: [], ctx: null, problems: [], problem: null, stats: null });
    try { sessionStorage.removeItem(SESSION_KEY); } catch (_) { /* storage off */ }
    $('app-view').hidden = true;
    $('signout').hidden = true;
    $('whoami').hidden = true;
    $('login-view').hidden = false;
    if (message) $('login-error').textContent = message;
  }

  function renderWhoami() {
    const u = state.user;
    setText('whoami', `${u.name} (${u.login}) · ${u.department || ''} · ${label('tier_', tierOf(u.level))}`);
  }

  const tierOf = (level) => (Number(level) >= 3 ? 'head' : Number(level) === 2 ? 'second_line' : 'first_line');

  function startApp() {
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('signout').hidden = false;
    $('whoami').hidden = false;
    $('tab-figures').hidden = !isHead();
    renderWhoami();
    showTab('queue');
    loadDepartments();
    loadQueue();
    loadProblems();
    clearInterval(state.refreshTimer);
    state.refreshTimer = setInterval(() => {
      loadQueue();
      if (state.tab === 'problems') loadProblems();
      if (state.tab === 'figures') loadStats();
    }, REFRESH_MS);
    clearInterval(state.tickTimer);
    state.tickTimer = setInterval(tick, 1000);
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

  function snippet(text, n) {
    const s = String(text || '').replace(/\s+/g, ' ').trim();
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  // ---------------------------------------------------------------------------------------------
  // One escalation
  // ---------------------------------------------------------------------------------------------
  async function openEscalation(id) {
    try {
      state.ctx = await api('GET', `/api/v1/escalations/${enc(id)}/context`);
      for (const f of ['info-question', 'answer-text', 'reject-reason']) $(f).value = '';
      renderContext();
      renderQueue();
      $('esc-panel').scrollIntoView({ block: 'start' });
    } catch (e) {
      if (e.status === 404) {
        closeEscalation();
        loadQueue();
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
    $('req-notes').replaceChildren(...(r.notes || []).map((n) => el('li', { data: { author: n.author } },
      el('div', { className: 'meta', text: `${n.author} · ${fmtTime(n.at)}` }),
      el('div', { className: 'pre', text: n.text }))));
    if (!(r.notes || []).length) $('req-notes').append(el('li', { className: 'muted', text: t('none') }));

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
    const list = (id, items, line) => {
      const nodes = (items || []).map((x) => el('li', { text: line(x) }));
      $(id).replaceChildren(...(nodes.length ? nodes : [el('li', { className: 'muted', text: t('none') })]));
    };
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
    const select = $('reject-department');
    const keep = select.value;
    const others = state.departments.filter((d) => !state.user || d.code !== state.user.department);
    select.replaceChildren(el('option', { value: '', text: t('choose_department') }),
      ...others.map((d) => el('option', { value: d.code, text: `${d.name} (${d.code})` })));
    select.value = keep;
    if (select.selectedIndex < 0) select.selectedIndex = 0;
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
    setText('problem-resolution', ['kk', 'ru', 'en'].filter((l) => res[l]).map((l) => `${l}: ${res[l]}`).join('\n'));
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
    for (const l of ['kk', 'ru', 'en']) {
      const v = $(`resolve-${l}`).value.trim();
      if (v) messages[l] = v;
    }
    if (!Object.keys(messages).length) {
      flash(t('empty_text'), 'error');
      return;
    }
    const number = state.problem.problem.number;
    problemAction($('resolve-send'), 'resolve', { messages }, () => {
      for (const l of ['kk', 'ru', 'en']) $(`resolve-${l}`).value = '';
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
    setLang(initialLang(), false);
    $('lang-select').addEventListener('change', (ev) => setLang(ev.target.value, true));
    $('login-form').addEventListener('submit', signIn);
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
