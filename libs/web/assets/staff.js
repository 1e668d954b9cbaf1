// Komek staff pages' shared script (served as /staff.js before each page's own /app.js): strings
// both pages use, sign-in and the session, the API helper with problem+json errors, building
// elements as text (never HTML), flash messages, busy buttons, and date, money and countdown
// formatting. A page calls `Staff.setup({...})` once and takes the helpers it needs.
'use strict';

const Staff = (() => {
  /** The interface languages, in the order the pages offer them. */
  const LANGS = ['kk', 'ru', 'en'];
  const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
  const CATEGORIES = ['billing', 'network', 'internet', 'roaming', 'tariff', 'sim_card', 'other'];
  /** Kazakhstan time, as in the deadlines the customers are told (the services' calendar zone). */
  const TIME_ZONE = 'Asia/Almaty';
  const LOGIN_PATH = '/api/v1/auth/login';

  /** Strings both pages use: each key with its translations (a missing one falls back to English). */
  const COMMON = {
    lang_label: { kk: 'Тіл', ru: 'Язык', en: 'Language' },
    signin_title: { kk: 'Жүйеге кіру', ru: 'Вход', en: 'Sign in' },
    login: { kk: 'Логин', ru: 'Логин', en: 'Login' },
    password: { kk: 'Құпиясөз', ru: 'Пароль', en: 'Password' },
    signin: { kk: 'Кіру', ru: 'Войти', en: 'Sign in' },
    signout: { kk: 'Шығу', ru: 'Выйти', en: 'Sign out' },
    signin_failed: { kk: 'Логин немесе құпиясөз қате', ru: 'Неверный логин или пароль', en: 'Wrong login or password' },
    session_expired: { kk: 'Сессия аяқталды, қайта кіріңіз', ru: 'Сессия истекла, войдите снова', en: 'Your session has ended; please sign in again' },
    err_network: { kk: 'Сервер қолжетімсіз', ru: 'Сервер недоступен', en: 'The server cannot be reached' },
    err_generic: { kk: 'Қате: {msg}', ru: 'Ошибка: {msg}', en: 'Error: {msg}' },
    accept: { kk: 'Қабылдау', ru: 'Принять', en: 'Accept' },
    none: { kk: 'Жоқ', ru: 'Нет', en: 'None' },
    open: { kk: 'Ашу', ru: 'Открыть', en: 'Open' },
    close: { kk: 'Жабу', ru: 'Закрыть', en: 'Close' },
    category: { kk: 'Санат', ru: 'Категория', en: 'Category' },
    customer: { kk: 'Клиент', ru: 'Клиент', en: 'Customer' },
    name: { kk: 'Аты', ru: 'Имя', en: 'Name' },
    phone: { kk: 'Телефон', ru: 'Телефон', en: 'Phone' },
    email: { kk: 'Эл. пошта', ru: 'Эл. почта', en: 'Email' },
    customer_degraded: { kk: 'Billing/CRM қолжетімсіз; Komek-тің өз деректері көрсетілген', ru: 'Billing/CRM недоступны; показаны собственные данные Komek', en: "Billing/CRM is unavailable; showing Komek's own data" },
    segment: { kk: 'Сегмент', ru: 'Сегмент', en: 'Segment' },
    region: { kk: 'Өңір', ru: 'Регион', en: 'Region' },
    tariff: { kk: 'Тариф', ru: 'Тариф', en: 'Tariff' },
    balance: { kk: 'Баланс', ru: 'Баланс', en: 'Balance' },
    charges: { kk: 'Соңғы есептен шығарулар', ru: 'Последние списания', en: 'Recent charges' },
    conversation: { kk: 'Хат алмасу', ru: 'Переписка', en: 'Conversation' },
    when: { kk: 'Уақыты', ru: 'Когда', en: 'When' },
    who: { kk: 'Кім', ru: 'Кто', en: 'Who' },
    what: { kk: 'Не істелді', ru: 'Что', en: 'What' },
    detail: { kk: 'Толығырақ', ru: 'Подробности', en: 'Detail' },
    department: { kk: 'Бөлім', ru: 'Отдел', en: 'Department' },
    reason: { kk: 'Себебі', ru: 'Причина', en: 'Reason' },
    resolution: { kk: 'Шешім', ru: 'Решение', en: 'Resolution' },
    empty_text: { kk: 'Мәтінді жазыңыз', ru: 'Введите текст', en: 'Please write the text' },
    refresh: { kk: 'Жаңарту', ru: 'Обновить', en: 'Refresh' },
    cat_billing: { kk: 'Шот және төлем', ru: 'Счета и оплата', en: 'Billing' },
    cat_internet: { kk: 'Мобильді интернет', ru: 'Мобильный интернет', en: 'Mobile internet' },
    cat_roaming: { kk: 'Роуминг', ru: 'Роуминг', en: 'Roaming' },
    cat_tariff: { kk: 'Тариф', ru: 'Тариф', en: 'Tariff' },
    cat_sim_card: { kk: 'SIM-карта', ru: 'SIM-карта', en: 'SIM card' },
    cat_other: { kk: 'Басқа', ru: 'Другое', en: 'Other' },
    kind_acknowledgment: { kk: 'Растау', ru: 'Подтверждение', en: 'Acknowledgment' },
    kind_resolution: { kk: 'Шешім', ru: 'Решение', en: 'Resolution' },
    lang_kk: { kk: 'Қазақша', ru: 'Казахский', en: 'Kazakh' },
    lang_ru: { kk: 'Орысша', ru: 'Русский', en: 'Russian' },
    lang_en: { kk: 'Ағылшынша', ru: 'Английский', en: 'English' },
    live_open: { kk: 'Тікелей жаңарту', ru: 'Обновления в реальном времени', en: 'Live' },
    live_off: { kk: 'Байланыс жоқ, қайта қосылуда…', ru: 'Нет связи, переподключение…', en: 'Disconnected, reconnecting…' },
  };

  /**
   * What the page gave `setup`: `state` (with `lang`, `token` and `user`), `strings` (its own
   * table, over COMMON), `roles` allowed to sign in, `sessionKey` and `langKey`, and the hooks
   * `onLang()` (after the language changed), `onSignedIn(ok)` (after a sign-in), `onExpired(msg)`
   * (the server refused the token) and `afterBusy()` (after a busy button is enabled again).
   */
  let page = { state: { lang: 'en', token: null, user: null }, strings: {}, roles: [] };
  let strings = COMMON;
  let flashTimer = null;

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const entry = strings[key];
    let s = entry ? (entry[page.state.lang] ?? entry.en) : undefined;
    if (s === undefined) return key;
    if (vars) {
      for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
    }
    return s;
  }

  /** A label for a server code (`prefix` + code, dots as underscores), or the code itself. */
  function label(prefix, code) {
    if (code === null || code === undefined || code === '') return '—';
    const key = prefix + String(code).replace(/\./g, '_');
    return strings[key] ? t(key) : String(code);
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

  /** Puts `value` in element `id` as text; nothing shows as a dash. */
  function setText(id, value) {
    const node = $(id);
    if (node) node.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
  }

  /** Fills list `id` with `items`, or with one muted "None" line when there are none. */
  function listOrNone(id, items) {
    $(id).replaceChildren(...(items.length ? items : [el('li', { className: 'muted', text: t('none') })]));
  }

  /** Replaces a select's options with `[value, text]` pairs (after `first`, an empty choice), keeping its value. */
  function fillSelect(select, pairs, first) {
    const keep = select.value;
    const opts = first === undefined ? [] : [el('option', { value: '', text: first })];
    for (const [value, text] of pairs) opts.push(el('option', { value, text }));
    select.replaceChildren(...opts);
    select.value = keep;
    if (select.selectedIndex < 0) select.selectedIndex = 0;
  }

  /** A select of codes, labelled with `prefix` + code. */
  function fillCodes(select, codes, prefix, first) {
    fillSelect(select, codes.map((c) => [c, label(prefix, c)]), first);
  }

  // ---------------------------------------------------------------------------------------------
  // Formatting
  // ---------------------------------------------------------------------------------------------
  function intl(make, fallback) {
    try {
      return make(LOCALES[page.state.lang]);
    } catch (_) {
      return fallback();
    }
  }

  /** A moment in Kazakhstan time. */
  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return intl((loc) => new Intl.DateTimeFormat(loc, { dateStyle: 'short', timeStyle: 'short', timeZone: TIME_ZONE }).format(d),
      () => d.toLocaleString());
  }

  /** A calendar date (`YYYY-MM-DD`). */
  function fmtDate(ymd) {
    if (!ymd) return '—';
    const d = new Date(`${ymd}T00:00:00Z`);
    if (Number.isNaN(d.getTime())) return String(ymd);
    return intl((loc) => new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeZone: 'UTC' }).format(d), () => String(ymd));
  }

  /** Whole tenge, e.g. `1 250 ₸`. */
  function fmtTenge(n) {
    if (n === null || n === undefined || n === '') return '—';
    const s = intl((loc) => new Intl.NumberFormat(loc, { maximumFractionDigits: 0 }).format(Number(n)), () => String(n));
    return `${s} ₸`;
  }

  /** A duration in seconds as `2 d 3:04` / `3:04:05` / `4:05`. */
  function fmtSpan(secs) {
    if (secs === null || secs === undefined) return '—';
    const s = Math.max(0, Math.floor(secs));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (x) => String(x).padStart(2, '0');
    if (d > 0) return `${d} d ${h}:${pad(m)}`;
    if (h > 0) return `${h}:${pad(m)}:${pad(s % 60)}`;
    return `${m}:${pad(s % 60)}`;
  }

  /** Seconds from now until `at` (an ISO time or milliseconds since the epoch); negative when past. */
  const secondsUntil = (at) => ((typeof at === 'number' ? at : Date.parse(at)) - Date.now()) / 1000;

  /** `text` on one line, cut to `n` characters. */
  function snippet(text, n) {
    const s = String(text || '').replace(/\s+/g, ' ').trim();
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  function flash(message, kind) {
    const box = $('flash');
    box.textContent = message;
    box.dataset.kind = kind || 'info';
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 10000 : 5000);
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

  /** What a problem+json body says: its detail and field errors, else its title. */
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

  /** One call to this origin's API with the session's token; throws ApiError when it fails. */
  async function api(method, path, body) {
    const { state } = page;
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
      if (res.status === 401 && state.token && path !== LOGIN_PATH) page.onExpired(t('session_expired'));
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
      if (page.afterBusy) page.afterBusy();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Language
  // ---------------------------------------------------------------------------------------------
  /** The language chosen before, else the browser's, else English. */
  function initialLang() {
    try {
      const saved = localStorage.getItem(page.langKey);
      if (LANGS.includes(saved)) return saved;
    } catch (_) { /* storage off */ }
    for (const l of navigator.languages || [navigator.language || '']) {
      const code = String(l).toLowerCase().slice(0, 2);
      if (LANGS.includes(code)) return code;
    }
    return 'en';
  }

  /** Switches the interface language (remembered when the user chose it) and relabels the page. */
  function setLang(lang, remember) {
    page.state.lang = LANGS.includes(lang) ? lang : 'en';
    if (remember) {
      try { localStorage.setItem(page.langKey, page.state.lang); } catch (_) { /* storage off */ }
    }
    document.documentElement.lang = page.state.lang;
    $('lang-select').value = page.state.lang;
    document.title = 'Komek — ' + t('app_subtitle');
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    renderLive();
    for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    page.onLang();
  }

  // ---------------------------------------------------------------------------------------------
  // Session
  // ---------------------------------------------------------------------------------------------
  /** Keeps the token and user (and `extra`) for this tab, so a reload stays signed in. */
  function saveSession(extra) {
    const { token, user } = page.state;
    try {
      sessionStorage.setItem(page.sessionKey, JSON.stringify({ token, user, ...extra }));
    } catch (_) { /* storage off */ }
  }

  /** The kept session (its token and user put back in the state), or null; `valid` may refuse it. */
  function restoreSession(valid) {
    try {
      const saved = JSON.parse(sessionStorage.getItem(page.sessionKey) || 'null');
      if (!saved || !saved.token || !saved.user || (valid && !valid(saved))) return null;
      page.state.token = saved.token;
      page.state.user = saved.user;
      return saved;
    } catch (_) {
      return null; // storage off or bad data
    }
  }

  /** Shows the signed-in page or the sign-in form. */
  function showSignedIn(on) {
    $('login-view').hidden = on;
    $('app-view').hidden = !on;
    $('signout').hidden = !on;
    $('whoami').hidden = !on;
  }

  /** Forgets the session and shows the sign-in form with `message`. */
  function signedOut(message) {
    page.state.token = null;
    page.state.user = null;
    try { sessionStorage.removeItem(page.sessionKey); } catch (_) { /* storage off */ }
    showSignedIn(false);
    $('login-error').textContent = message || '';
  }

  async function signIn(ev) {
    ev.preventDefault();
    const login = $('login-login').value.trim();
    const password = $('login-password').value;
    const error = $('login-error');
    error.textContent = '';
    if (!login || !password) {
      error.textContent = t('signin_failed');
      return;
    }
    await busy($('login-submit'), async () => {
      let ok;
      try {
        ok = await api('POST', LOGIN_PATH, { login, password });
      } catch (e) {
        error.textContent = e.status === 401 ? t('signin_failed') : e.message;
        return;
      }
      if (!ok || !ok.user || !page.roles.includes(ok.user.role)) {
        error.textContent = t('staff_only');
        return;
      }
      page.state.token = ok.token;
      page.state.user = ok.user;
      $('login-password').value = '';
      page.onSignedIn(ok);
    });
  }

  /** Takes the page's settings, wires the language switch and the sign-in form, and labels the page. */
  function setup(settings) {
    page = settings;
    strings = { ...COMMON, ...settings.strings };
    $('lang-select').addEventListener('change', (ev) => setLang(ev.target.value, true));
    $('login-form').addEventListener('submit', signIn);
    setLang(initialLang(), false);
  }

  /**
   * Reads parts of a page again, once for a burst of pushes: `schedule(...names)` runs each named
   * loader of `loaders` once, `delay` ms after the first call of a burst (nothing when signed out);
   * `cancel()` drops what is pending.
   */
  function batcher(loaders, delay) {
    const pending = new Set();
    let timer = null;
    return {
      schedule(...names) {
        for (const n of names) pending.add(n);
        if (timer) return;
        timer = setTimeout(async () => {
          timer = null;
          const todo = [...pending];
          pending.clear();
          if (!page.state.token) return;
          await Promise.all(todo.map((n) => Promise.resolve().then(loaders[n]).catch(showError)));
        }, delay);
      },
      cancel() {
        clearTimeout(timer);
        timer = null;
        pending.clear();
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Live updates
  // ---------------------------------------------------------------------------------------------
  /** The running live connection: `{ open }`; null when signed out. */
  let liveNow = null;

  /** The live connection's state in the top bar (`#live-status`, made on first use). */
  function renderLive() {
    let node = $('live-status');
    if (!node && !liveNow) return;
    if (!node) {
      node = el('span', { id: 'live-status', className: 'live', testid: 'live-status' });
      $('whoami').before(node);
    }
    node.hidden = !liveNow;
    const open = Boolean(liveNow && liveNow.open);
    node.dataset.state = open ? 'open' : 'off';
    node.textContent = open ? '● ' + t('live_open') : '○ ' + t('live_off');
  }

  /**
   * Opens this service's live WebSocket (`/api/v1/live`) and keeps it open, reconnecting with
   * backoff, until `stop()`. `onNote(note)` gets each push; `onOpen()` runs at each (re)connection,
   * where a page reads everything again (whatever happened while the socket was down); when the
   * socket closes and `expired()` says the session is over, the page's `onExpired` runs instead.
   */
  function live({ onNote, onOpen, expired }) {
    const conn = { open: false, ws: null, backoff: 0, timer: null, stopped: false };
    const setOpen = (open) => {
      conn.open = open;
      renderLive();
    };
    function later() {
      const delay = Math.min(30000, 500 * 2 ** conn.backoff) * (0.75 + Math.random() / 2);
      conn.backoff = Math.min(conn.backoff + 1, 10);
      clearTimeout(conn.timer);
      conn.timer = setTimeout(connect, delay);
    }
    function connect() {
      if (conn.stopped || conn.ws || !page.state.token) return;
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      let ws;
      try {
        ws = new WebSocket(`${proto}//${location.host}/api/v1/live?token=${encodeURIComponent(page.state.token)}`);
      } catch (_) {
        later();
        return;
      }
      conn.ws = ws;
      ws.addEventListener('open', () => {
        if (conn.ws !== ws) return;
        conn.backoff = 0;
        setOpen(true);
        onOpen();
      });
      ws.addEventListener('message', (ev) => {
        if (conn.ws !== ws) return;
        let note;
        try { note = JSON.parse(ev.data); } catch (_) { return; }
        if (note && typeof note === 'object') onNote(note);
      });
      ws.addEventListener('close', () => {
        if (conn.ws !== ws) return;
        conn.ws = null;
        setOpen(false);
        if (conn.stopped || !page.state.token) return;
        if (expired && expired()) {
          page.onExpired(t('session_expired'));
          return;
        }
        later();
      });
    }
    if (liveNow) liveNow.stop();
    const handle = {
      get open() { return conn.open; },
      stop() {
        conn.stopped = true;
        clearTimeout(conn.timer);
        const ws = conn.ws;
        conn.ws = null;
        conn.open = false;
        if (ws) ws.close();
        if (liveNow === handle) liveNow = null;
        renderLive();
      },
    };
    liveNow = handle;
    renderLive();
    connect();
    return handle;
  }

  return {
    LANGS, CATEGORIES, setup, live, batcher, $, t, label, el, setText, listOrNone, fillSelect, fillCodes,
    fmtTime, fmtDate, fmtTenge, fmtSpan, secondsUntil, snippet, flash,
    ApiError, api, showError, busy, setLang, saveSession, restoreSession, showSignedIn, signedOut,
  };
})();
