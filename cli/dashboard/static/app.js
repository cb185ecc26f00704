// spec-kitty dashboard script. Served as a static file (the CSP forbids
// inline script). It filters the missions table. It only ever sets
// textContent, never HTML.
(function () {
  'use strict';

  var filter = document.getElementById('filter');
  var table = document.getElementById('missions');
  if (filter && table) {
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
  }
})();
