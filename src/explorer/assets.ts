/**
 * @module explorer/assets
 * The explorer's one stylesheet and one script, served from `/static/` (same origin, so the
 * Content-Security-Policy needs no inline script or style). The script only improves pages that
 * work without it: copy buttons, tag digests streamed in by server-sent events, a path filter.
 */
import { createHash } from 'node:crypto';

export const STYLE = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --link: #0550ae; --line: #d0d7de;
  --code: #f6f8fa; --ok: #116329; --bad: #a40e26; --badge: #ddf4ff; --badge-fg: #0a3069; --focus: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --link: #79c0ff; --line: #30363d; --code: #161b22;
    --ok: #56d364; --bad: #ff7b72; --badge: #12263f; --badge-fg: #a5d6ff; --focus: #58a6ff; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, pre:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem; }
.skip:focus { left: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between;
  padding: .5rem 1rem; border-bottom: 1px solid var(--line); }
.crumbs { list-style: none; display: flex; flex-wrap: wrap; margin: 0; padding: 0; }
.crumbs li + li::before { content: "›"; padding: 0 .4rem; color: var(--muted); }
.crumbs li { overflow-wrap: anywhere; }
.search { display: block; flex: 1 1 20rem; max-width: 40rem; }
.search form { display: flex; gap: .25rem; }
.search input { flex: 1; min-width: 0; }
search.filter { display: block; margin: .5rem 0; }
input, textarea, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line);
  border-radius: 4px; padding: .3rem .5rem; }
button { cursor: pointer; background: var(--code); }
main { padding: 0 1rem 2rem; max-width: 90rem; }
h1 { font-size: 1.4rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin-top: 1.5rem; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
code { overflow-wrap: anywhere; }
pre { background: var(--code); padding: .75rem; overflow: auto; border: 1px solid var(--line); border-radius: 4px; max-height: 70vh; }
pre.file { white-space: pre-wrap; overflow-wrap: anywhere; }
.json .k { color: var(--fg); } .json .s { color: var(--ok); } .json .n { color: var(--muted); }
table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
td.wrap { overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .5rem; } }
.ok { color: var(--ok); } .bad, .error { color: var(--bad); }
.muted { color: var(--muted); }
.badge { display: inline-block; background: var(--badge); color: var(--badge-fg); border-radius: 3px; padding: 0 .35rem; font-size: .85em; margin-left: .25rem; }
tr.attestation td, tr.empty td { color: var(--muted); }
tr.whiteout td { text-decoration: line-through; }
tr.whiteout td .badge { text-decoration: none; }
tr.progress { display: none; } tr.progress:last-child { display: table-row; }
tr.progress td { font-weight: 600; }
td.path { white-space: nowrap; }
${Array.from({ length: 13 }, (_, i) => `td.d${i} { padding-left: ${0.5 + i * 1.1}rem; }`).join('\n')}
ul.tags { display: flex; flex-wrap: wrap; gap: .25rem .75rem; list-style: none; padding: 0; }
ul.columns { columns: 18rem; }
.group h2 { font-size: 1rem; }
.diff-add { color: var(--ok); } .diff-del { color: var(--bad); }
textarea { width: 100%; min-height: 16rem; font-family: ui-monospace, monospace; }
footer { border-top: 1px solid var(--line); padding: .5rem 1rem; color: var(--muted); }
footer a { color: var(--link); }
`;

export const SCRIPT = `
'use strict';
(function () {
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button[data-copy]');
    if (!b) return;
    var text = b.getAttribute('data-copy');
    var done = function () { var old = b.textContent; b.textContent = 'Copied'; setTimeout(function () { b.textContent = old; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () {});
    else { var t = document.createElement('textarea'); t.value = text; document.body.appendChild(t); t.select();
      try { document.execCommand('copy'); done(); } catch (e) {} t.remove(); }
  });

  var filter = document.querySelector('input[data-filter]');
  if (filter) {
    var run = function () {
      var q = filter.value.toLowerCase();
      var rows = document.querySelectorAll(filter.getAttribute('data-filter') + ' tbody tr[data-path]');
      for (var i = 0; i < rows.length; i++) rows[i].hidden = q !== '' && rows[i].getAttribute('data-path').toLowerCase().indexOf(q) === -1;
    };
    filter.addEventListener('input', run);
  }

  var groups = document.getElementById('tag-groups');
  var events = groups && groups.getAttribute('data-events');
  if (groups && events && window.EventSource) {
    var pending = document.getElementById('pending-tags');
    var byDigest = {};
    var source = new EventSource(events);
    source.addEventListener('tag', function (ev) {
      var t = JSON.parse(ev.data);
      var li = pending && pending.querySelector('li[data-tag="' + CSS.escape(t.tag) + '"]');
      var key = t.digest || 'unresolved';
      var section = byDigest[key];
      if (!section) {
        section = document.createElement('section');
        section.className = 'group';
        var h = document.createElement('h2');
        if (t.digest) {
          var a = document.createElement('a');
          a.className = 'digest';
          a.href = groups.getAttribute('data-repo-href') + encodeURI(groups.getAttribute('data-digest-base') + t.digest);
          var code = document.createElement('code');
          code.textContent = t.digest;
          a.appendChild(code);
          h.appendChild(a);
        } else {
          h.textContent = 'Not resolved: ' + (t.error || '');
        }
        section.appendChild(h);
        var ul = document.createElement('ul');
        ul.className = 'tags';
        section.appendChild(ul);
        groups.appendChild(section);
        byDigest[key] = section;
      }
      if (li) { li.remove(); section.querySelector('ul').appendChild(li); }
      if (pending && !pending.querySelector('li')) pending.hidden = true;
    });
    source.addEventListener('done', function () { source.close(); groups.setAttribute('data-done', 'true'); });
    source.onerror = function () { source.close(); };
  }
})();
`;

function etag(text: string): string {
  return `"${createHash('sha256').update(text).digest('hex').slice(0, 32)}"`;
}

export const ASSETS: Record<string, { body: string; type: string; etag: string }> = {
  'style.css': { body: STYLE, type: 'text/css; charset=utf-8', etag: etag(STYLE) },
  'app.js': { body: SCRIPT, type: 'text/javascript; charset=utf-8', etag: etag(SCRIPT) },
};
