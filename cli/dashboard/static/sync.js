// spec-kitty dashboard sync panel script, served (and linked) only with the
// rollout gate on. It keeps the sync panel fresh by polling
// /api/sync/status; "Sync now" POSTs /api/sync with the page's CSRF token.
// It only ever sets textContent, never HTML.
(function () {
  'use strict';

  var panel = document.getElementById('sync-panel');
  if (!panel) return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';
  var button = document.getElementById('sync-now');
  var result = document.getElementById('sync-result');
  var notice = document.getElementById('manual-notice');

  var SLOW = 3000, FAST = 500;
  var fastUntil = 0, timer = 0;

  function say(kind, text) {
    result.setAttribute('data-kind', kind);
    result.textContent = text;
  }

  function render(st) {
    var d = st.display || {};
    Object.keys(d).forEach(function (k) {
      var el = panel.querySelector('[data-field="' + k + '"]');
      if (el) el.textContent = d[k];
    });
    if (st.tone) panel.setAttribute('data-tone', st.tone);
    panel.setAttribute('data-daemon', (st.daemon && st.daemon.state) || '');
    panel.setAttribute('data-queue-depth', String((st.queue && st.queue.depth) || 0));
    panel.setAttribute('data-delivered', String((st.daemon && st.daemon.delivered) || 0));
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, Date.now() < fastUntil ? FAST : SLOW);
  }

  function poll() {
    fetch('/api/sync/status', { cache: 'no-store', credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (e) { say('error', 'Cannot read the sync status: ' + e.message); })
      .then(schedule);
  }

  button.addEventListener('click', function () {
    button.disabled = true;
    say('', 'Asking the sync daemon to run…');
    fetch('/api/sync', {
      method: 'POST', cache: 'no-store', credentials: 'same-origin',
      headers: { 'X-CSRF-Token': token, 'Accept': 'application/json' }
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { code: r.status, body: body }; });
      })
      .then(function (a) {
        var b = a.body || {};
        if (b.status === 'scheduled') {
          say('ok', 'Sync scheduled: the daemon is syncing now.');
        } else if (b.status === 'skipped' && b.reason === 'policy_manual') {
          say('warn', notice ? notice.content.textContent.trim() : 'Background sync is in manual mode.');
        } else {
          say('error', 'Sync is unavailable (' + (b.reason || ('HTTP ' + a.code)) + ')' + (b.message ? ': ' + b.message : '.'));
        }
      })
      .catch(function (e) { say('error', 'Sync now failed: ' + e.message); })
      .then(function () {
        button.disabled = false;
        fastUntil = Date.now() + 15000;
        poll();
      });
  });

  schedule();
})();
