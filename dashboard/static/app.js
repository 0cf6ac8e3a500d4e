// The breaker dashboard: one card per breaker, live from ./api/stream.
// No inline script, no external asset: it runs under the strict CSP the
// server sends. All names reach the DOM as text, never as HTML.
'use strict';
(function () {
  const PAGE = 60; // cards per page: the page stays fast with thousands of breakers
  const SEVERITY = { 'forced-open': 0, open: 1, 'half-open': 2, disabled: 3, closed: 4 };
  const ACTIONS = [['reset', 'reset'], ['force-open', 'force open'], ['disable', 'disable']];
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const ui = {
    cards: $('cards'), conn: $('conn'), summary: $('summary'), filter: $('filter'), sort: $('sort'),
    prev: $('prev'), next: $('next'), page: $('page'), empty: $('empty'), msg: $('msg'), histmin: $('histmin'),
  };
  const breakers = new Map(); // name → view (the server's BreakerView) + hist
  const cards = new Map(); // name → card {el, f: fields}
  let control = false, offset = 0, interval = 1000, historyMs = 120000;
  let page = 0, visible = [], renderQueued = false, frozen = false, es = null, retry = null, snapshots = 0;

  const serverNow = () => Date.now() + offset;

  // ---- stream ----
  function connect() {
    clearTimeout(retry);
    if (es) es.close();
    es = new EventSource('api/stream');
    es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
    es.addEventListener('transition', (e) => onTransition(JSON.parse(e.data)));
    es.addEventListener('stats', (e) => onStats(JSON.parse(e.data)));
    es.addEventListener('error', () => {
      setConn('reconnecting');
      // The browser retries by itself after a dropped connection; after an
      // HTTP error it gives up, so start over (a new snapshot resyncs).
      if (es.readyState === EventSource.CLOSED) retry = setTimeout(connect, 2000);
    });
  }

  function setConn(s) {
    document.body.dataset.conn = s;
    ui.conn.textContent = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : 'connecting…';
  }

  function onSnapshot(s) {
    offset = s.now - Date.now();
    interval = s.interval;
    historyMs = s.history;
    ui.histmin.textContent = String(Math.round(historyMs / 6000) / 10);
    if (control !== s.control) {
      control = s.control;
      for (const c of cards.values()) c.el.remove();
      cards.clear();
    }
    breakers.clear();
    for (const b of s.breakers) {
      b.hist = b.history || [];
      delete b.history;
      breakers.set(b.name, b);
    }
    snapshots++;
    document.body.dataset.snapshots = String(snapshots);
    setConn('live');
    render();
  }

  function onTransition(t) {
    const b = breakers.get(t.breaker);
    if (!b) return; // a new breaker: the next stats brings it
    b.state = t.to;
    b.last = t;
    b.since = t.time;
    b.openUntil = t.until || 0;
    const c = cards.get(t.breaker);
    if (c) { update(c, b); tick(); } // the countdown and reason lines at once: no late layout shift
    queueRender();
  }

  function onStats(s) {
    offset = s.now - Date.now();
    for (const r of s.rows) {
      const old = breakers.get(r.name);
      r.hist = old ? old.hist : [];
      breakers.set(r.name, r);
    }
    for (const n of s.removed || []) breakers.delete(n);
    const from = s.now - historyMs;
    for (const b of breakers.values()) {
      if (b.rates) b.hist.push([s.now, b.rates.calls, b.rates.failures]);
      let i = 0;
      while (i < b.hist.length && b.hist[i][0] < from) i++;
      if (i) b.hist.splice(0, i);
    }
    render();
  }

  // ---- rendering ----
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    setTimeout(() => render(), 50);
  }

  function errPct(b) { return b.rates && b.rates.calls > 0 ? b.rates.errorPct : -1; }

  const ORDER = {
    state: (a, b) => SEVERITY[a.state] - SEVERITY[b.state] || errPct(b) - errPct(a) || cmpName(a, b),
    errors: (a, b) => errPct(b) - errPct(a) || SEVERITY[a.state] - SEVERITY[b.state] || cmpName(a, b),
    calls: (a, b) => (b.rates ? b.rates.calls : -1) - (a.rates ? a.rates.calls : -1) || cmpName(a, b),
    name: (a, b) => cmpName(a, b),
  };
  function cmpName(a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; }

  // render lays out the current page. While the pointer is over the cards
  // their order is frozen (values still update), so that a card does not
  // move away under a click; force re-sorts anyway (filter, sort, pager).
  function render(force) {
    renderQueued = false;
    const all = [...breakers.values()];
    if (frozen && force !== true && visible.length) {
      visible = visible.map((b) => breakers.get(b.name)).filter(Boolean);
      for (const b of visible) { const c = cards.get(b.name); if (c) update(c, b); }
      summary(all);
      tick();
      return;
    }
    const q = ui.filter.value.trim().toLowerCase();
    const list = q ? all.filter((b) => b.name.toLowerCase().includes(q)) : all;
    list.sort(ORDER[ui.sort.value] || ORDER.state);
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    page = Math.min(page, pages - 1);
    ui.page.textContent = (page + 1) + '/' + pages;
    ui.prev.disabled = page === 0;
    ui.next.disabled = page >= pages - 1;
    visible = list.slice(page * PAGE, (page + 1) * PAGE);
    const els = visible.map((b) => {
      let c = cards.get(b.name);
      if (!c) { c = makeCard(b.name); cards.set(b.name, c); }
      update(c, b);
      return c.el;
    });
    const kids = ui.cards.children;
    if (kids.length !== els.length || els.some((el, i) => kids[i] !== el)) ui.cards.replaceChildren(...els);
    const shown = new Set(visible.map((b) => b.name));
    for (const n of cards.keys()) if (!shown.has(n)) cards.delete(n);
    ui.empty.hidden = visible.length > 0;
    summary(all);
    tick();
  }

  function summary(all) {
    const n = {};
    for (const b of all) n[b.state] = (n[b.state] || 0) + 1;
    const parts = Object.keys(SEVERITY).filter((s) => n[s]).map((s) => {
      const span = document.createElement('span');
      const num = document.createElement('b');
      num.textContent = String(n[s]);
      span.append(num, ' ' + s);
      return span;
    });
    ui.summary.replaceChildren(...parts);
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function makeCard(name) {
    const card = el('article', 'card');
    card.dataset.breaker = name;
    const f = {};
    const head = el('div', 'head');
    const h2 = el('h2', '', name);
    h2.title = name;
    f.state = el('span', 'badge');
    head.append(h2, f.state);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 120 30');
    svg.setAttribute('preserveAspectRatio', 'none');
    f.calls = document.createElementNS(SVG, 'path');
    f.calls.setAttribute('class', 'calls');
    f.errors = document.createElementNS(SVG, 'path');
    f.errors.setAttribute('class', 'errors');
    svg.append(f.calls, f.errors);
    const nums = el('dl', 'nums');
    for (const [k, label] of [['cps', 'calls/s'], ['err', 'error'], ['rej', 'rejected/s'], ['slow', 'slow'], ['p50', 'p50'], ['p99', 'p99']]) {
      const d = el('div');
      f[k] = el('dd');
      f[k].dataset.f = k;
      d.append(el('dt', '', label), f[k]);
      nums.append(d);
    }
    f.until = el('p', 'until');
    f.why = el('p', 'why');
    card.append(head, svg, nums, f.until, f.why);
    if (control) {
      const acts = el('div', 'actions');
      for (const [a, label] of ACTIONS) {
        const btn = el('button', '', label);
        btn.type = 'button';
        btn.dataset.action = a;
        btn.dataset.label = label;
        acts.append(btn);
      }
      card.append(acts);
    }
    return { el: card, f: f, name: name };
  }

  function set(e, text) { if (e.textContent !== text) e.textContent = text; }

  function num(x) {
    if (x >= 100) return x.toFixed(0);
    if (x >= 10) return x.toFixed(1);
    return x.toFixed(x === 0 ? 0 : 2);
  }

  function dur(ms) {
    if (ms >= 1000) return num(ms / 1000) + ' s';
    return num(ms) + ' ms';
  }

  function update(c, b) {
    const f = c.f;
    if (c.el.dataset.state !== b.state) c.el.dataset.state = b.state;
    set(f.state, b.state);
    const r = b.rates;
    set(f.cps, r ? num(r.calls) : '–');
    set(f.err, r && r.calls > 0 ? num(r.errorPct) + '%' : '–');
    f.err.classList.toggle('bad', !!r && r.errorPct >= 25 && r.calls > 0);
    set(f.rej, r ? num(r.rejected) : '–');
    f.rej.classList.toggle('bad', !!r && r.rejected > 0);
    set(f.slow, r && r.calls > 0 ? num(r.slowPct) + '%' : '–');
    const l = b.latency;
    if (!l) {
      set(f.p50, 'n/a'); set(f.p99, 'n/a');
      f.p50.title = f.p99.title = 'this breaker does not time its calls (count window, no slow-call threshold)';
    } else {
      f.p50.title = f.p99.title = l.count + ' calls in the last 10 s, mean ' + dur(l.mean);
      set(f.p50, l.count ? dur(l.p50) : '–');
      set(f.p99, l.count ? (l.over ? '>' : '') + dur(l.p99) : '–');
    }
    spark(f, b.hist);
  }

  // spark draws calls/s and failures/s over the history window; a gap of
  // more than three intervals breaks the lines.
  function spark(f, hist) {
    const now = serverNow(), from = now - historyMs;
    let max = 1;
    for (const p of hist) max = Math.max(max, p[1]);
    const line = (k) => {
      let d = '', prev = 0;
      for (const p of hist) {
        const x = ((p[0] - from) / historyMs * 120).toFixed(1);
        const y = (29 - p[k] / max * 27).toFixed(1);
        d += (prev && p[0] - prev <= 3 * interval ? 'L' : 'M') + x + ' ' + y;
        prev = p[0];
      }
      return d;
    };
    f.calls.setAttribute('d', line(1));
    f.errors.setAttribute('d', line(2));
  }

  // tick refreshes the clocks on the visible cards: the open countdown and
  // the age of the last transition.
  function tick() {
    const now = serverNow();
    for (const b of visible) {
      const c = cards.get(b.name);
      if (!c) continue;
      let until = '';
      if (b.state === 'open' && b.openUntil) {
        const left = Math.max(0, b.openUntil - now);
        until = left > 0 ? 'open for ' + (left / 1000).toFixed(1) + ' s more' : 'probing soon';
      } else if (b.state === 'forced-open') until = 'open until reset';
      else if (b.state === 'half-open') until = 'probing: ' + b.halfOpenInFlight + ' in flight';
      set(c.f.until, until);
      set(c.f.why, why(b.last, now));
    }
  }

  function why(t, now) {
    if (!t) return '';
    let s = (t.from ? t.from + ' → ' : '') + t.to + ': ' + t.reason;
    if (t.rate) s += ' ' + num(t.rate * 100) + '%';
    else if (t.count) s += ' ×' + t.count;
    const ago = Math.max(0, Math.round((now - t.time) / 1000));
    return s + ', ' + (ago < 90 ? ago + ' s' : Math.round(ago / 60) + ' min') + ' ago';
  }

  // ---- controls ----
  ui.filter.addEventListener('input', () => { page = 0; render(true); });
  ui.sort.addEventListener('change', () => { page = 0; render(true); });
  ui.prev.addEventListener('click', () => { page = Math.max(0, page - 1); render(true); });
  ui.next.addEventListener('click', () => { page++; render(true); });
  ui.cards.addEventListener('mouseenter', () => { frozen = true; });
  ui.cards.addEventListener('mouseleave', () => { frozen = false; queueRender(); });

  // Admin buttons ask for a second click within 5 s before they act.
  ui.cards.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-action]');
    if (!btn) return;
    const name = btn.closest('.card').dataset.breaker;
    if (!btn.dataset.armed) {
      btn.dataset.armed = '1';
      btn.textContent = 'confirm ' + btn.dataset.label + '?';
      setTimeout(() => disarm(btn), 5000);
      return;
    }
    disarm(btn);
    act(name, btn.dataset.action);
  });

  function disarm(btn) {
    delete btn.dataset.armed;
    btn.textContent = btn.dataset.label;
  }

  async function act(name, action) {
    try {
      const res = await fetch('api/breakers/' + encodeURIComponent(name) + '/' + action, { method: 'POST' });
      if (res.ok) { ui.msg.hidden = true; return; }
      let text = res.status + ' ' + res.statusText;
      try { text = (await res.json()).error || text; } catch (_) { /* not JSON */ }
      flash(action + ' ' + name + ': ' + text);
    } catch (err) {
      flash(action + ' ' + name + ': ' + err.message);
    }
  }

  function flash(text) {
    ui.msg.textContent = text;
    ui.msg.hidden = false;
  }

  setInterval(tick, 250);
  connect();
})();
