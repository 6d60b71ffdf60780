-- lunapbx.wallboard: a call center's wallboard served by the PBX's HTTP
-- server (pbx.http.route), live over its WebSocket of events.
--
--   local wallboard = require "lunapbx.wallboard"
--   wallboard.serve { path = "/wallboard" }    -- needs pbx.settings { http = ... }
--
--   GET /wallboard?token=T        the page
--   GET /wallboard.json?token=T   every queue's live statistics (queue.stats)
--
-- Every queue event is published as `queue.<event>` (queue.enterqueue,
-- queue.connect, queue.abandon, queue.pause, ...; fields queue, type,
-- agent, callid, data); the page listens to them on /events and fetches
-- the figures again (at most four times a second), and once every five
-- seconds whatever happens (a wrapup ending is no event).

local queue = require "lunapbx.queue"

local M = {}

--- Every queue's statistics, for the page (and anyone).
function M.snapshot()
  local out = {}
  for _, name in ipairs(queue.names()) do
    local st = queue.stats(name)
    if st then
      st.callers = nil        -- the page shows counts, not callers' numbers
      out[#out + 1] = st
    end
  end
  return { queues = out, time = os.time() }
end

local PAGE = [==[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Wallboard</title>
<style>
body { font-family: sans-serif; background: #10141c; color: #e8e8e8; margin: 1em; }
h1 { font-size: 1.4em; margin: 0 0 .5em 0; } h2 { margin: .2em 0; }
.queue { border: 1px solid #334; border-radius: 8px; padding: .8em; margin-bottom: 1em; }
.figs { display: flex; gap: 1.5em; flex-wrap: wrap; }
.fig { text-align: center; min-width: 6em; }
.fig b { display: block; font-size: 2.2em; }
table { border-collapse: collapse; margin-top: .6em; }
td, th { padding: .2em .8em; text-align: left; }
.idle { color: #6c6; } .talking { color: #fc6; } .ringing { color: #6cf; }
.paused { color: #f66; } .wrapup { color: #c9f; } .unavailable, .inuse { color: #999; }
#live { font-size: .8em; color: #999; }
</style></head>
<body><h1>Queues <span id="live">connecting</span></h1><div id="board"></div>
<script>
const token = new URLSearchParams(location.search).get("token") || "";
const base = location.pathname;
function esc(s) { return String(s).replace(/[&<>"]/g, c => "&#" + c.charCodeAt(0) + ";"); }
function clock(s) { s = Math.floor(s || 0); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }
function fig(q, key, label, text) {
  return '<div class="fig"><b id="q-' + esc(q.name) + '-' + key + '">' + esc(text) + '</b>' + label + '</div>';
}
function render(data) {
  let html = "";
  for (const q of (Array.isArray(data.queues) ? data.queues : [])) {
    html += '<div class="queue" id="q-' + esc(q.name) + '"><h2>' + esc(q.name) + ' <small>' + esc(q.strategy) + '</small></h2><div class="figs">'
      + fig(q, "waiting", "waiting", q.waiting) + fig(q, "longest", "longest wait", clock(q.longest_wait))
      + fig(q, "answered", "answered", q.answered) + fig(q, "abandoned", "abandoned", q.abandoned)
      + fig(q, "sl", "service level", Math.round(q.service_level) + "%")
      + fig(q, "talking", "talking", q.talking) + fig(q, "available", "available", q.available)
      + '</div><table><tr><th>agent</th><th>state</th><th>calls</th></tr>';
    for (const m of (Array.isArray(q.members) ? q.members : [])) {
      html += '<tr><td>' + esc(m.name) + '</td><td class="' + esc(m.state) + '" id="m-' + esc(q.name) + '-' + esc(m.name) + '">'
        + esc(m.state) + (m.paused && m.reason ? " (" + esc(m.reason) + ")" : "") + '</td><td>' + esc(m.calls) + '</td></tr>';
    }
    html += '</table></div>';
  }
  document.getElementById("board").innerHTML = html;
}
let pending = false, last = 0, updates = 0;
function refresh() {
  const wait = Math.max(0, 250 - (Date.now() - last));
  if (pending) return;
  pending = true;
  setTimeout(() => {
    last = Date.now();
    fetch(base + ".json?token=" + encodeURIComponent(token)).then(r => r.json()).then(d => {
      pending = false; updates++; render(d);
      document.body.dataset.updates = updates;
    }).catch(() => { pending = false; });
  }, wait);
}
function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host
    + "/events?token=" + encodeURIComponent(token));
  ws.onopen = () => { document.getElementById("live").textContent = "live"; document.body.dataset.live = "1"; };
  ws.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.event && ev.event.startsWith("queue.")) { document.body.dataset.lastEvent = ev.event; refresh(); }
  };
  ws.onclose = () => { document.getElementById("live").textContent = "reconnecting"; document.body.dataset.live = "0"; setTimeout(connect, 1000); };
}
refresh(); connect(); setInterval(refresh, 5000);
</script></body></html>
]==]

M.page = PAGE

--- wallboard.serve { path = "/wallboard" }: the page and its figures.
function M.serve(opts)
  opts = opts or {}
  local path = opts.path or "/wallboard"
  if type(path) ~= "string" or not path:match("^/[%w_./-]*$") then
    error("wallboard.serve: path must be like /wallboard", 2)
  end
  local pbx = require "lunapbx"
  if not (pbx.http and pbx.http.route) then
    error("wallboard.serve: this PBX has no HTTP server", 2)
  end
  pbx.http.route(path, function() return 200, PAGE, "text/html; charset=utf-8" end)
  pbx.http.route(path .. ".json", function() return 200, M.snapshot() end)
end

return M
