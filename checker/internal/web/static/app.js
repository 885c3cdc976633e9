// phonecheck's page. Everything that decides what leaves the device runs in
// the Go module (phonecheck.wasm, the command's own code); this script
// only wires the form to it, carries its requests (fetch) and renders its
// answer. It never puts the number in a URL, a cookie or storage: the
// only thing stored is the chosen country.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const assets = JSON.parse(document.querySelector('meta[name="phonecheck-assets"]').content);
  const REGION_KEY = 'phonecheck-region';
  const DEFAULT_REGION = { ar: 'EG', en: 'US', ms: 'MY', zh: 'CN', es: 'ES', fr: 'FR', pt: 'BR' };

  let lang = 'en';
  let strings = {};
  let lastOutcome = null;
  let lastOptions = null;

  // ---- language ----------------------------------------------------------

  function pickLanguage() {
    for (const l of navigator.languages || [navigator.language]) {
      const base = String(l).toLowerCase().split('-')[0];
      if (assets.i18n[base]) return base;
    }
    return 'en';
  }

  async function setLanguage(l) {
    const r = await fetch(assets.i18n[l], { credentials: 'omit' });
    strings = await r.json();
    lang = l;
    document.documentElement.lang = l;
    document.documentElement.dir = strings.dir === 'rtl' ? 'rtl' : 'ltr';
    document.title = strings.title + ' · phonecheck';
    for (const el of document.querySelectorAll('[data-i18n]')) {
      const s = strings[el.dataset.i18n];
      if (s) el.textContent = s;
    }
    $('lang').value = l;
    nameRegions();
    if (lastOutcome) render(lastOutcome);
    else updateUnderstood();
  }

  function t(key, vars) {
    let s = strings[key];
    if (s === undefined) s = key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  // tp picks the plural form of key for n: key_one, key_few, ... or key_other.
  function tp(key, n, vars) {
    const form = new Intl.PluralRules(lang).select(n);
    const k = strings[key + '_' + form] !== undefined ? key + '_' + form : key + '_other';
    return t(k, Object.assign({ n: fmtInt(n) }, vars));
  }

  function fmtInt(n) { return new Intl.NumberFormat(lang).format(n); }
  function fmtAbout(n) {
    if (n >= 10) n = Math.round(n);
    return new Intl.NumberFormat(lang, { maximumSignificantDigits: n >= 1000 ? 3 : 2 }).format(n);
  }

  function fmtBytes(n) {
    const kb = n / 1000;
    const unit = kb >= 1000 ? 'megabyte' : 'kilobyte';
    const v = kb >= 1000 ? kb / 1000 : Math.max(1, kb);
    return new Intl.NumberFormat(lang, { style: 'unit', unit, unitDisplay: 'short', maximumSignificantDigits: 2 }).format(v);
  }

  function countryName(code) {
    try {
      const dn = new Intl.DisplayNames([lang], { type: 'region' });
      return dn.of(code) || code;
    } catch (e) { return code; }
  }

  // nameRegions shows country names in the page's language, sorted by it.
  function nameRegions() {
    const sel = $('region');
    const keep = sel.value;
    const opts = Array.from(sel.options);
    // The calling code reads left to right in every language: isolate it.
    for (const o of opts) o.textContent = countryName(o.value) + ' (\u2066+' + o.dataset.cc + '\u2069)';
    const coll = new Intl.Collator(lang);
    opts.sort((a, b) => coll.compare(a.textContent, b.textContent));
    for (const o of opts) sel.appendChild(o);
    sel.value = keep;
  }

  function defaultRegion() {
    let stored = null;
    try { stored = localStorage.getItem(REGION_KEY); } catch (e) { /* storage off */ }
    const has = (r) => r && Array.from($('region').options).some((o) => o.value === r);
    if (has(stored)) return stored;
    for (const l of navigator.languages || [navigator.language]) {
      const parts = String(l).split('-');
      const r = parts.length > 1 ? parts[parts.length - 1].toUpperCase() : '';
      if (r.length === 2 && has(r)) return r;
    }
    const d = DEFAULT_REGION[lang];
    return has(d) ? d : $('region').options[0].value;
  }

  // ---- the module --------------------------------------------------------

  let modulePromise = null;

  // loadModule fetches and starts the Go module, once: when the person
  // starts typing or presses Check, not before.
  function loadModule() {
    if (modulePromise) return modulePromise;
    modulePromise = new Promise((resolve, reject) => {
      window.phonecheckReady = () => resolve(window.phonecheck);
      const go = new Go();
      const start = (result) => { go.run(result.instance); };
      WebAssembly.instantiateStreaming(fetch(assets.wasm, { credentials: 'omit' }), go.importObject)
        .catch(() => fetch(assets.wasm, { credentials: 'omit' })
          .then((r) => { if (!r.ok) throw new Error('module: ' + r.status); return r.arrayBuffer(); })
          .then((b) => WebAssembly.instantiate(b, go.importObject)))
        .then(start)
        .catch(reject);
    });
    modulePromise.catch(() => { modulePromise = null; });
    return modulePromise;
  }

  // transport is the module's fetch: it returns what the Go side reads.
  async function transport(method, url, headers, body) {
    const init = { method, headers, credentials: 'omit', referrerPolicy: 'no-referrer', redirect: 'error' };
    if (body) init.body = body;
    const r = await fetch(url, init);
    const buf = new Uint8Array(await r.arrayBuffer());
    return {
      status: r.status,
      contentType: r.headers.get('Content-Type') || '',
      retryAfter: r.headers.get('Retry-After') || '',
      body: buf,
    };
  }

  // ---- the form ----------------------------------------------------------

  function updateUnderstood() {
    const out = $('understood');
    const raw = $('number').value;
    if (!window.phonecheck || raw.trim() === '') { out.textContent = ''; return; }
    const d = JSON.parse(window.phonecheck.describe(raw, $('region').value));
    out.textContent = d.number ? understood(d.number) : '';
  }

  function understood(n) {
    // A phone number reads left to right in every language: isolate it.
    const vars = { number: '\u2066' + n.international + '\u2069', country: countryName(n.region) };
    const ty = strings['type_' + n.type];
    let s = ty ? t('understood', Object.assign(vars, { type: ty })) : t('understood_notype', vars);
    // Digits not valid in the chosen country, read as international: a
    // guess the person should confirm (the module marks it).
    const home = $('region').value;
    if (n.retried) s += ' ' + (home ? t('understood_retried', { home: countryName(home) }) : t('understood_retried_nohome'));
    return s;
  }

  async function runCheck(prefixBits) {
    const result = $('result');
    const button = $('check');
    result.dataset.status = '';
    result.setAttribute('aria-busy', 'true');
    button.disabled = true;
    lastOutcome = null;
    clear(result);
    result.appendChild(para(window.phonecheck ? t('checking') : t('loading')));
    try {
      let mod;
      try {
        mod = await loadModule();
      } catch (e) {
        render({ status: 'error', error: { code: 'module' } });
        return;
      }
      const raw = $('number').value;
      const region = $('region').value;
      let out;
      try {
        const d = JSON.parse(mod.describe(raw, region));
        if (d.status === 'invalid') { render(d); return; }
        $('understood').textContent = understood(d.number);
        clear(result);
        result.appendChild(para(t('checking')));
        const base = new URL('.', location.href).href;
        lastOptions = { Number: raw, Region: region, Base: base, PrefixBits: prefixBits || 0 };
        out = JSON.parse(await mod.check(JSON.stringify(lastOptions), transport));
      } catch (e) {
        // The module stopped (it should not): say so, never hang.
        out = { status: 'error', error: { code: 'module' } };
      }
      render(out);
    } finally {
      button.disabled = false;
      result.removeAttribute('aria-busy');
    }
  }

  // ---- rendering ---------------------------------------------------------

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function para(text, cls) {
    const p = document.createElement('p');
    p.textContent = text;
    if (cls) p.className = cls;
    return p;
  }
  function el(tag, cls) { const e = document.createElement(tag); if (cls) e.className = cls; return e; }

  function render(o) {
    lastOutcome = o;
    const result = $('result');
    clear(result);
    const region = $('region').value;
    switch (o.status) {
      case 'invalid': {
        const reason = strings['reason_' + o.reason] || o.reason;
        const raw = $('number').value.trim();
        const intl = raw.startsWith('+') || raw.startsWith('00');
        result.appendChild(para(intl ? t('invalid_intl', { reason }) : t('invalid', { country: countryName(region), reason }), 'verdict'));
        $('understood').textContent = '';
        break;
      }
      case 'error':
        result.appendChild(para(errorText(o.error || {}), 'verdict'));
        if (o.error && o.error.message) result.appendChild(para(o.error.message, 'hint'));
        break;
      case 'exposed': {
        const known = (o.datasets || []).length > 0;
        result.appendChild(para(known ? tp('exposed', o.datasets.length) : t('exposed_count', { n: fmtInt(o.count), total: fmtInt(o.total_datasets) }), 'verdict'));
        if (known) {
          const ul = el('ul', 'datasets');
          for (const d of o.datasets) {
            const li = el('li');
            // A dataset's line reads in its own direction (the names are
            // the index's, often English), the bullet in the page's.
            const line = el('bdi');
            const b = el('strong'); b.textContent = d.name; line.appendChild(b);
            if (d.date) line.appendChild(document.createTextNode(' (' + d.date + ')'));
            if (d.source) line.appendChild(document.createTextNode(' — ' + d.source));
            li.appendChild(line);
            ul.appendChild(li);
          }
          result.appendChild(ul);
        }
        const h = el('h2'); h.textContent = t('advice_title'); result.appendChild(h);
        const ul = el('ul', 'advice');
        for (const k of ['advice_1', 'advice_2', 'advice_3']) { const li = el('li'); li.textContent = t(k); ul.appendChild(li); }
        result.appendChild(ul);
        break;
      }
      case 'not_exposed':
        result.appendChild(para(tp('not_exposed', o.total_datasets), 'verdict'));
        result.appendChild(para(t('not_exposed_note')));
        break;
    }
    if (o.demo) result.appendChild(para(t('demo'), 'hint'));
    // What left the device is shown whenever something did, errors too.
    if (o.sent && o.sent.prefix) result.appendChild(renderSent(o, o.status !== 'error'));
    result.dataset.status = o.status === 'error' || !o.status ? 'error' : o.status;
  }

  function errorText(e) {
    switch (e.code) {
      case 'rate_limited':
        if (e.retry_after > 90) return tp('error_rate_limited_minutes', Math.ceil(e.retry_after / 60));
        return e.retry_after > 0 ? tp('error_rate_limited', e.retry_after) : t('error_rate_limited_later');
      case 'server': return t('error_server', { status: e.status });
      case 'network': case 'proof': case 'key_changed': case 'protocol': case 'prefix': case 'module':
        return t('error_' + e.code);
    }
    return t('error_protocol');
  }

  function renderSent(o, offerLarger) {
    const s = o.sent;
    const box = el('div', 'sent');
    box.id = 'sent';
    box.dataset.mode = s.mode;
    box.dataset.prefix = s.prefix;
    box.dataset.bits = s.bits;
    const h = el('h2'); h.textContent = t('sent_title'); box.appendChild(h);
    const ul = el('ul');
    const add = (text, id) => { const li = el('li'); li.textContent = text; if (id) li.id = id; ul.appendChild(li); return li; };
    const country = countryName(o.number ? o.number.region : $('region').value);
    const pre = add('', 'sent-prefix');
    const parts = t('sent_prefix', { bits: s.bits, prefix: '\u0000' }).split('\u0000');
    pre.appendChild(document.createTextNode(parts[0]));
    const code = el('code'); code.textContent = s.prefix; code.dir = 'ltr'; pre.appendChild(code);
    pre.appendChild(document.createTextNode(parts[1] || ''));
    if (s.anonymity > 0) add(t('sent_anonymity', { n: fmtAbout(s.anonymity), country }), 'sent-anonymity');
    else add(t('sent_anonymity_unknown'), 'sent-anonymity');
    if (s.short) add(t('sent_short', { k: fmtInt(s.min_anonymity), country }), 'sent-short');
    if (s.mode === 'private') {
      add(s.evaluator ? t('sent_blinded_to', { server: new URL(s.evaluator).host }) : t('sent_blinded'), 'sent-blinded');
      if (s.verified) add(t('sent_verified', { key: s.key_id }), 'sent-verified');
    } else {
      add(t('sent_plain'), 'sent-plain');
    }
    if (s.entries) add(t('sent_entries', { n: fmtInt(s.entries) }), 'sent-entries');
    box.appendChild(ul);
    if (offerLarger && s.larger_bits > 0) {
      box.appendChild(para(t(s.larger_bytes > 0 ? 'sent_larger_size' : 'sent_larger', { n: fmtAbout(s.larger_anonymity), size: fmtBytes(s.larger_bytes) })));
      const b = el('button', 'larger');
      b.type = 'button';
      b.id = 'larger';
      b.textContent = t('button_larger');
      b.addEventListener('click', () => runCheck(s.larger_bits));
      box.appendChild(b);
    }
    return box;
  }

  // ---- start -------------------------------------------------------------

  function init() {
    const langSel = $('lang');
    langSel.addEventListener('change', () => setLanguage(langSel.value));
    const region = $('region');
    lang = pickLanguage();
    region.value = defaultRegion();
    region.addEventListener('change', () => {
      try { localStorage.setItem(REGION_KEY, region.value); } catch (e) { /* storage off */ }
      updateUnderstood();
    });
    const number = $('number');
    const warm = () => { loadModule().then(updateUnderstood, () => {}); };
    number.addEventListener('input', () => {
      // A new number: the last answer was about another one.
      if (lastOutcome) {
        lastOutcome = null;
        clear($('result'));
        $('result').dataset.status = '';
      }
      if (!window.phonecheck) { warm(); return; }
      updateUnderstood();
    });
    $('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      runCheck(0);
    });
    setLanguage(lang);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
