// Komek staff pages' shared module (served as /staff.js; each page's modules import it): texts
// from the Fluent catalogue (`/i18n/{lang}.json`, libs/i18n/locales/*/staff.ftl), the domain's
// codes (`/api/v1/meta`), sign-in and the session (a short access token kept fresh with the
// refresh token, sign-out that ends the session on the server), the API helper with problem+json errors told
// in the page's language, history lines told from their action and fields, building elements as
// text (never HTML), flash messages, busy buttons, and date, money and countdown formatting. A
// page awaits `setup({...})` once and imports the helpers it needs.

/**
 * The domain's codes (statuses, categories, languages, ...), read from `/api/v1/meta` by `setup`
 * before anything is drawn: the Rust enums are their one source.
 */
export const meta = {
  languages: [], statuses: [], categories: [], priorities: [], channels: [], message_kinds: [], roles: [],
  presences: [], escalation_statuses: [], tiers: [], answer_outcomes: [], problem_statuses: [],
};
const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
/** Kazakhstan time, as in the deadlines the customers are told (the services' calendar zone). */
const TIME_ZONE = 'Asia/Almaty';
const LOGIN_PATH = '/api/v1/auth/login';
const REFRESH_PATH = '/api/v1/auth/refresh';
const LOGOUT_PATH = '/api/v1/auth/logout';
/** A failed refresh (network, 5xx) is tried again this much later, while the token lasts. */
const REFRESH_RETRY_MS = 5000;

/**
 * What the page gave `setup`: `state` (with `lang`, `token`, `user`, and the session's `refresh`
 * token and the access token's `expiresAt`, kept here), `prefix` (its own
 * catalogue keys, `ws` or `dept`, looked up before the shared `staff-` ones), `roles` allowed to
 * sign in, `sessionKey` and `langKey`, and the hooks `onLang()` (after the language changed),
 * `onSignedIn(ok)` (after a sign-in), `onExpired(msg)` (the server refused the token) and
 * `afterBusy()` (after a busy button is enabled again).
 */
let page = { state: { lang: 'en', token: null, user: null, refresh: null, expiresAt: 0 }, prefix: 'staff', roles: [] };
/** The catalogue of each language loaded so far: lang -> {message id: pattern}. */
const catalogues = {};
let flashTimer = null;

export const $ = (id) => document.getElementById(id);

/** The catalogue's pattern for `key` (the page's `ws-`/`dept-` id first, then the shared `staff-` one). */
function pattern(key) {
  const id = String(key).replace(/_/g, '-');
  const texts = catalogues[page.state.lang] || {};
  return texts[`${page.prefix}-${id}`] ?? texts[`staff-${id}`];
}

/** The text of `key` in the page's language, its `{ $name }` placeables filled from `vars`. */
export function t(key, vars) {
  const s = pattern(key);
  if (s === undefined) return key;
  return s.replace(/\{\s*\$([A-Za-z][\w-]*)\s*\}/g, (whole, name) => (vars && name in vars ? String(vars[name]) : whole));
}

/** A label for a server code (`prefix` + code, dots as underscores), or the code itself. */
export function label(prefix, code) {
  if (code === null || code === undefined || code === '') return '—';
  const key = prefix + String(code).replace(/\./g, '_');
  return pattern(key) !== undefined ? t(key) : String(code);
}

/** Builds an element; strings among `children` become text nodes. */
export function el(tag, props, ...children) {
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
export function setText(id, value) {
  const node = $(id);
  if (node) node.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
}

/** Fills list `id` with `items`, or with one muted "None" line when there are none. */
export function listOrNone(id, items) {
  $(id).replaceChildren(...(items.length ? items : [el('li', { className: 'muted', text: t('none') })]));
}

/** Replaces a select's options with `[value, text]` pairs (after `first`, an empty choice), keeping its value. */
export function fillSelect(select, pairs, first) {
  const keep = select.value;
  const opts = first === undefined ? [] : [el('option', { value: '', text: first })];
  for (const [value, text] of pairs) opts.push(el('option', { value, text }));
  select.replaceChildren(...opts);
  select.value = keep;
  if (select.selectedIndex < 0) select.selectedIndex = 0;
}

/** A select of codes, labelled with `prefix` + code. */
export function fillCodes(select, codes, prefix, first) {
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
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return intl((loc) => new Intl.DateTimeFormat(loc, { dateStyle: 'short', timeStyle: 'short', timeZone: TIME_ZONE }).format(d),
    () => d.toLocaleString());
}

/** A calendar date (`YYYY-MM-DD`). */
export function fmtDate(ymd) {
  if (!ymd) return '—';
  const d = new Date(`${ymd}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return String(ymd);
  return intl((loc) => new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeZone: 'UTC' }).format(d), () => String(ymd));
}

/** Whole tenge, e.g. `1 250 ₸`. */
export function fmtTenge(n) {
  if (n === null || n === undefined || n === '') return '—';
  const s = intl((loc) => new Intl.NumberFormat(loc, { maximumFractionDigits: 0 }).format(Number(n)), () => String(n));
  return `${s} ₸`;
}

/** A duration in seconds as `2 d 3:04` / `3:04:05` / `4:05`. */
export function fmtSpan(secs) {
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
export const secondsUntil = (at) => ((typeof at === 'number' ? at : Date.parse(at)) - Date.now()) / 1000;

/** `text` on one line, cut to `n` characters. */
export function snippet(text, n) {
  const s = String(text || '').replace(/\s+/g, ' ').trim();
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

export function flash(message, kind) {
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
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The error codes a status means when the body names none this page knows. */
const STATUS_CODES = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'too_large',
  415: 'unsupported_media_type', 422: 'invalid_fields', 429: 'too_many_requests', 503: 'unavailable',
};

/**
 * What a problem+json body says, in the page's language: the text of its `code` in the catalogue
 * (`staff-err-{code}`), else of the code its status means, with the fields it names. The
 * server's English `detail` goes only to the console: the person reads the catalogue's text.
 */
function problemText(data, status) {
  const body = data && typeof data === 'object' ? data : {};
  const known = (code) => code && pattern('err_' + code) !== undefined;
  const code = known(body.code) ? body.code : STATUS_CODES[status] || (status >= 500 ? 'internal' : 'bad_request');
  if (body.detail) console.info(`HTTP ${status} ${body.code || ''}: ${body.detail}`);
  const fields = Array.isArray(body.errors) ? body.errors.map((e) => label('field_', e.field)) : [];
  if (fields.length && !known(body.code)) return t('err_invalid_fields', { fields: fields.join(', ') });
  const text = t('err_' + code, { fields: fields.join(', ') });
  return fields.length && code !== 'invalid_fields' ? `${text} (${fields.join(', ')})` : text;
}

/**
 * One call to this origin's API with the session's token; throws ApiError when it fails. A 401
 * (the token expired while the tab slept, say) is met with one refresh and the call made again;
 * when the session itself has ended, the page's `onExpired` runs.
 */
export async function api(method, path, body, retried) {
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
    if (res.status === 401 && state.token && path !== LOGIN_PATH && path !== REFRESH_PATH) {
      if (!retried && state.refresh && await refreshNow()) return api(method, path, body, true);
      if (state.token) page.onExpired(t('session_expired'));
    }
    throw new ApiError(res.status, problemText(data, res.status));
  }
  return data;
}

export function showError(e) {
  if (e instanceof ApiError && e.status === 401) return; // the session ended; already said
  flash(t('err_generic', { msg: e && e.message ? e.message : String(e) }), 'error');
}

/** Runs `fn` with `button` disabled meanwhile; errors are shown. */
export async function busy(button, fn) {
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
/** The language chosen before, else the browser's, else the first the pages offer. */
function initialLang() {
  const langs = meta.languages;
  try {
    const saved = localStorage.getItem(page.langKey);
    if (langs.includes(saved)) return saved;
  } catch (_) { /* storage off */ }
  for (const l of navigator.languages || [navigator.language || '']) {
    const code = String(l).toLowerCase().slice(0, 2);
    if (langs.includes(code)) return code;
  }
  return langs.includes('en') ? 'en' : langs[0];
}

/** A JSON document of this origin (no session needed). */
async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-cache' });
  if (!res.ok) throw new ApiError(res.status, `${path}: HTTP ${res.status}`);
  return res.json();
}

/** The catalogue of `lang`, read once. */
async function loadCatalogue(lang) {
  if (!catalogues[lang]) catalogues[lang] = await getJson(`/i18n/${encodeURIComponent(lang)}.json`);
  return catalogues[lang];
}

/** The switch's choices: every language the pages offer, each named in its own language. */
function fillLangSelect() {
  const select = $('lang-select');
  const own = (l) => (catalogues[l] && catalogues[l][`staff-lang-${l}`]) || l;
  fillSelect(select, meta.languages.map((l) => [l, own(l)]));
}

let langSwitch = 0;

/** Switches the interface language (remembered when the user chose it) and relabels the page. */
export async function setLang(lang, remember) {
  const want = meta.languages.includes(lang) ? lang : initialLang();
  const mine = ++langSwitch;
  try {
    await loadCatalogue(want);
  } catch (e) {
    flash(t('err_network'), 'error');
    $('lang-select').value = page.state.lang;
    return;
  }
  if (mine !== langSwitch) return; // another language was chosen meanwhile
  page.state.lang = want;
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
// History lines
// ---------------------------------------------------------------------------------------------
/**
 * The detail of a history line in the page's language. The services write some details as
 * fields joined in English (`CSAT 2: ...`, `first_response due ...`, `to billing: ...`): each such
 * action has its layout here, and the line is told again from its fields and the catalogue's
 * words; other details are the people's own text (a reply, a reason) and are shown as written.
 */
const HISTORY = [
  [/^(survey_answered|reopened)$/, /^CSAT (\d+)(?:: ([\s\S]*))?$/, (m) => (m[2] === undefined
    ? t('hist_csat', { csat: m[1] }) : t('hist_csat_comment', { csat: m[1], comment: m[2] }))],
  [/^deadline_(warning|breached)$/, /^(first_response|resolution) due (.+)$/,
    (m) => t('hist_due', { deadline: t('deadline_' + m[1]), due: m[2] })],
  [/^escalated$/, /^to ([^:]+): ([\s\S]*)$/, (m) => t('hist_escalated', { department: m[1], reason: m[2] })],
  [/^escalation_answered$/, /^(resolved|decision): ([\s\S]*)$/, (m) => `${label('out_', m[1])}: ${m[2]}`],
  [/^(reassigned|assigned)$/, /^(\S+) -> (\S+) \(by (\S+)\)$/,
    (m) => t('hist_reassigned_by', { from: queueOr(m[1]), to: m[2], by: m[3] })],
  [/^reassigned$/, /^(\S+) -> (\S+)$/, (m) => `${queueOr(m[1])} → ${m[2]}`],
  [/^created$/, /^(\w+) \/ (\w+)$/, (m) => `${label('cat_', m[1])} / ${label('pr_', m[2])}`],
  [/^customer_message$/, /^reopened: the customer wrote after the resolution: ([\s\S]*)$/,
    (m) => t('hist_customer_reopened', { text: m[1] })],
  [/^escalation_breached$/, /^(.+): now (\w+)(?:, due (\S+))?$/, (m) => (m[3]
    ? t('hist_esc_breached_due', { department: m[1], tier: label('tier_', m[2]), due: fmtTime(m[3]) })
    : t('hist_esc_breached', { department: m[1], tier: label('tier_', m[2]) }))],
  [/^escalation_rerouted$/, /^(\S+) -> ([^:\s]+)(?:: ([\s\S]*))?$/,
    (m) => `${m[1]} → ${m[2]}${m[3] === undefined ? '' : ': ' + m[3]}`],
  [/^(notified|notification_failed)$/, /^(\w+) to (.+?): ([\w.]+)(?: \(([\s\S]*)\))?$/, (m, action) => {
    const vars = { channel: label('ch_', m[1]), recipient: m[2], event: label('ev_', m[3]) };
    return action === 'notification_failed' ? t('hist_notified_failed', vars) : `${vars.channel} → ${vars.recipient}: ${vars.event}`;
  }],
  [/^.*$/, /^(first_line|second_line|head) -> (first_line|second_line|head)$/,
    (m) => `${label('tier_', m[1])} → ${label('tier_', m[2])}`],
];

const queueOr = (who) => (who === 'queue' ? t('hist_queue') : who);

/** The detail of history line (or escalation step) `h`: `{action, detail}`. */
export function historyDetail(h) {
  const detail = h && h.detail ? String(h.detail) : '';
  if (!detail) return '';
  for (const [action, layout, tell] of HISTORY) {
    if (!action.test(String(h.action || ''))) continue;
    const m = layout.exec(detail);
    if (m) return tell(m, h.action);
  }
  return detail;
}

// ---------------------------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------------------------
/** What the page keeps beside the session (`saveSession(extra)`), written again with each refresh. */
let savedExtra = {};

/** Keeps the tokens and user (and `extra`) for this tab, so a reload stays signed in. */
export function saveSession(extra) {
  savedExtra = { ...savedExtra, ...extra };
  const { token, user, refresh, expiresAt } = page.state;
  try {
    sessionStorage.setItem(page.sessionKey, JSON.stringify({ ...savedExtra, token, user, refresh, expiresAt }));
  } catch (_) { /* storage off */ }
}

/**
 * The kept session (its tokens and user put back in the state, the refresh scheduled), or null;
 * `valid` may refuse it. An expired access token is fine: the first call refreshes it.
 */
export function restoreSession(valid) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(page.sessionKey) || 'null');
    if (!saved || !saved.token || !saved.user || (valid && !valid(saved))) return null;
    page.state.token = saved.token;
    page.state.user = saved.user;
    page.state.refresh = saved.refresh || null;
    page.state.expiresAt = Number(saved.expiresAt) || 0;
    savedExtra = saved;
    scheduleRefresh();
    return saved;
  } catch (_) {
    return null; // storage off or bad data
  }
}

let refreshTimer = null;
/** The refresh in flight, shared by everyone who needs a fresh token meanwhile. */
let refreshing = null;

/** Takes the tokens of a sign-in or a refresh, and schedules the next refresh. */
function takeTokens(ok) {
  page.state.token = ok.token;
  page.state.refresh = ok.refresh_token || null;
  page.state.expiresAt = Date.parse(ok.expires_at) || Date.now() + 60e3;
  if (ok.user) page.state.user = ok.user;
  scheduleRefresh();
}

/** Refreshes a fifth of the token's life (at least 30 s) before it expires. */
function scheduleRefresh(delay) {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  if (!page.state.refresh) return;
  const left = page.state.expiresAt - Date.now();
  const wait = delay ?? Math.max(0, left - Math.max(30e3, left / 5));
  refreshTimer = setTimeout(() => { refreshNow().catch(() => {}); }, wait);
}

/**
 * Trades the refresh token for new tokens (one request at a time); resolves to whether it did.
 * A 401 means the session has ended (signed out elsewhere, deactivated, expired): the page's
 * `onExpired` runs. A network failure is tried again shortly.
 */
export function refreshNow() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const refresh = page.state.refresh;
    if (!refresh) return false;
    let res;
    try {
      res = await fetch(REFRESH_PATH, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: refresh }),
        cache: 'no-store',
      });
    } catch (_) {
      scheduleRefresh(REFRESH_RETRY_MS);
      return false;
    }
    if (page.state.refresh !== refresh) return Boolean(page.state.token); // signed out or in meanwhile
    if (res.ok) {
      const ok = await res.json().catch(() => null);
      if (!ok || !ok.token) return false;
      takeTokens(ok);
      saveSession();
      return true;
    }
    if (res.status === 401) {
      page.state.refresh = null;
      if (page.state.token) page.onExpired(t('session_expired'));
    } else {
      scheduleRefresh(REFRESH_RETRY_MS);
    }
    return false;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

/** A token good for a while more (refreshed first when it is about to expire), or null. */
export async function freshToken() {
  if (page.state.refresh && page.state.expiresAt - Date.now() < 10e3) await refreshNow();
  return page.state.token;
}

/** Signs out on the server (the session ends on every service); the page then forgets it. */
export async function logout() {
  if (!page.state.token) return;
  try {
    await api('POST', LOGOUT_PATH);
  } catch (_) { /* leaving anyway: an ended session is what was asked for */ }
}

/** Shows the signed-in page or the sign-in form. */
export function showSignedIn(on) {
  $('login-view').hidden = on;
  $('app-view').hidden = !on;
  $('signout').hidden = !on;
  $('whoami').hidden = !on;
}

/** Forgets the session and shows the sign-in form with `message`. */
export function signedOut(message) {
  page.state.token = null;
  page.state.user = null;
  page.state.refresh = null;
  page.state.expiresAt = 0;
  clearTimeout(refreshTimer);
  refreshTimer = null;
  savedExtra = {};
  try { sessionStorage.removeItem(page.sessionKey); } catch (_) { /* storage off */ }
  showSignedIn(false);
  $('login-error').textContent = message || '';
}

async function signIn(ev) {
  ev.preventDefault();
  await ready;
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
    takeTokens(ok);
    $('login-password').value = '';
    page.onSignedIn(ok);
  });
}

/** Settles when the codes and the first catalogue are in (sign-in waits for it). */
let ready = Promise.resolve();

/**
 * Takes the page's settings, wires the sign-in form and the language switch at once (a sign-in
 * never falls through to a plain form submission), reads the domain's codes and the catalogues,
 * and labels the page. Resolves when the page can draw (its `onLang` has run once).
 */
export async function setup(settings) {
  page = settings;
  $('login-form').addEventListener('submit', signIn);
  $('lang-select').addEventListener('change', (ev) => setLang(ev.target.value, true));
  ready = (async () => {
    Object.assign(meta, await getJson('/api/v1/meta'));
    const first = initialLang();
    // Each language's catalogue names that language in the switch; only the first one is needed now.
    await Promise.all(meta.languages.map((l) => loadCatalogue(l).catch((e) => {
      if (l === first) throw e;
    })));
    fillLangSelect();
    await setLang(first, false);
  })();
  await ready;
}

/**
 * Reads parts of a page again, once for a burst of pushes: `schedule(...names)` runs each named
 * loader of `loaders` once, `delay` ms after the first call of a burst (nothing when signed out);
 * `cancel()` drops what is pending.
 */
export function batcher(loaders, delay) {
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

/** The close code the server ends a socket with when its session has ended (policy violation). */
const SESSION_ENDED = 1008;

/**
 * Opens this service's live WebSocket (`/api/v1/live`) and keeps it open, reconnecting with
 * backoff, until `stop()`. `onNote(note)` gets each push; `onOpen()` runs at each (re)connection,
 * where a page reads everything again (whatever happened while the socket was down). The socket
 * opens with a fresh token; when the server closes it because the session ended, a refresh tells
 * whether it really has (then the page's `onExpired` runs) or the socket may open again.
 */
export function live({ onNote, onOpen }) {
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
  async function connect() {
    if (conn.stopped || conn.ws || !page.state.token) return;
    const token = await freshToken();
    if (conn.stopped || conn.ws || !token) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/api/v1/live?token=${encodeURIComponent(token)}`);
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
    ws.addEventListener('close', async (ev) => {
      if (conn.ws !== ws) return;
      conn.ws = null;
      setOpen(false);
      if (conn.stopped || !page.state.token) return;
      if (ev.code === SESSION_ENDED || page.state.expiresAt <= Date.now()) {
        if (!(await refreshNow())) {
          if (page.state.token && !page.state.refresh) page.onExpired(t('session_expired'));
          if (!page.state.token) return;
        }
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
