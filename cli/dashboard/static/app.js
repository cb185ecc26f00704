// spec-kitty dashboard script. Served as a static file (the CSP forbids
// inline script). It filters the missions table and keeps the page live:
// every 2 s it asks the server, with the page's content version as
// If-None-Match, whether the missions changed (304 when not: the server only
// stats the files) and reloads the page when they did, keeping the filter.
// It only ever sets textContent, never HTML.
(function () {
  'use strict';

  var filter = document.getElementById('filter');
  var table = document.getElementById('missions');
  var KEY = 'spec-kitty-filter';
  if (filter && table) {
    var saved = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    var rows = table.tBodies[0].rows;
    var count = document.getElementById('mission-count');
    filter.addEventListener('input', function () {
      var q = filter.value.trim().toLowerCase();
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = q === '' || rows[i].textContent.toLowerCase().indexOf(q) >= 0;
        rows[i].classList.toggle('hidden', !hit);
        if (hit) shown++;
      }
      if (count) count.textContent = String(shown);
    });
    if (saved) {
      filter.value = saved;
      filter.dispatchEvent(new Event('input'));
    }
  }

  var version = document.querySelector('meta[name="content-version"]');
  if (version) {
    var tag = '"' + version.getAttribute('content') + '"';
    var check = function () {
      fetch(location.pathname, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin', headers: { 'If-None-Match': tag } })
        .then(function (r) {
          if (r.status === 200 && r.headers.get('ETag') !== tag) {
            if (filter && filter.value) sessionStorage.setItem(KEY, filter.value);
            location.reload();
            return;
          }
          setTimeout(check, 2000);
        })
        .catch(function () { setTimeout(check, 5000); });
    };
    setTimeout(check, 2000);
  }
})();
