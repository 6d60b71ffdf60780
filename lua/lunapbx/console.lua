-- lunapbx.console: the Lua prompt of `lunapbx -r`, evaluated inside the
-- PBX on its event loop.  The C side (core/console/) moves text; this
-- module compiles and runs chunks, shows values, completes names, and
-- offers the live views.  Each console has its own globals; behind them
-- it sees the views below, `pbx` (the lunapbx module of the configuration
-- in force), the configuration's own globals, and the sandbox's.
--
-- The C side calls:
--   init(C)             once, with the functions of bind_console.c
--   session()           per connection -> session
--   banner(s)           "o" .. text
--   compile(s, src)     the chunk's function | "i" (incomplete) | "e" .. error
--   show(s, ...)        "o" .. the values the chunk returned
--   fail(s, err)        "e" .. its error
--   complete(s, word)   candidates, one a line

local pretty = require "lunapbx.pretty"

local M = {}
local C            -- bind_console.c's functions
local core = _core
local lib = {}     -- what every console sees before its own globals

function M.init(c) C = c end

local function generation_env()
  local g = C.generation()
  return g and g._env
end

local function current_pbx()
  local env = generation_env()
  return env and env.require("lunapbx")
end

-- A value whose text is `render(value)`: printed readably, still a table.
local function view(t, render)
  return setmetatable(t, { __tostring = render })
end

local function plural(n, word)
  return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

local function fail(why) error(why, 0) end

---------------------------------------------------------------------------
-- Live views

local function clock(ms)
  local s = ms // 1000
  if s >= 3600 then return ("%d:%02d:%02d"):format(s // 3600, s // 60 % 60, s % 60) end
  return ("%d:%02d"):format(s // 60, s % 60)
end

-- Files of the configuration's folder show by their own name.
local function shorten(where, dir)
  if where and dir and where:sub(1, #dir + 1) == dir .. "/" then
    return where:sub(#dir + 2)
  end
  return where
end

local function call_row(c, dir)
  local codec = c.codec
  if c.peer_codec and c.peer_codec ~= c.codec then
    codec = (c.codec or "?") .. "/" .. c.peer_codec
  end
  return {
    id = c.id, state = c.state, age = clock(c.age_ms), codec = codec,
    caller = c.caller_name and ("%s <%s>"):format(c.caller_name, c.caller or "")
      or c.caller,
    exten = (c.exten or "?") .. "@" .. (c.context or "?"),
    bridged = c.peer or c.peer_uri
      or (c.ringing > 0 and ("ringing " .. c.ringing) or nil),
    func = shorten(c.func, dir),
    at = c.line and (shorten(c.line, dir) .. (c.wait and (" (" .. c.wait .. ")") or "")),
    mem = pretty.bytes(c.lua_mem),
  }
end

local CALL_COLS = {
  { "ID", "id", right = true }, { "STATE", "state" }, { "AGE", "age", right = true },
  { "CALLER", "caller" }, { "EXTEN", "exten" }, { "BRIDGED TO", "bridged" },
  { "CODEC", "codec" }, { "DIALPLAN", "func" }, { "NOW AT", "at" },
  { "LUA MEM", "mem", right = true },
}

local function render_calls(list)
  if #list == 0 then return "no calls" end
  local rows, dir = {}, C.status().config:match("^(.*)/[^/]*$")
  for i, c in ipairs(list) do rows[i] = call_row(c, dir) end
  return pretty.columns(rows, CALL_COLS) .. "\n" .. plural(#list, "call")
end

--- calls(): every call in progress (a list of tables, printed as a table)
function lib.calls()
  return view(C.calls(), render_calls)
end

local LEG_COLS = {
  { "LEG", "id", right = true }, { "STATE", "state" }, { "AGE", "age", right = true },
  { "DIR", "dir" }, { "ENDPOINT", "endpoint" }, { "URI", "uri" }, { "CODEC", "codec" },
  { "CALL", "call", right = true }, { "BRIDGE", "bridge", right = true },
}

local function render_legs(list)
  if #list == 0 then return "no legs" end
  local rows = {}
  for i, l in ipairs(list) do
    rows[i] = {
      id = l.id, state = l.state .. (l.held and " (holds)" or ""),
      age = clock(l.age_ms), dir = l.inbound and "in" or "out",
      endpoint = l.endpoint or "-", uri = l.uri or "-", codec = l.codec or "-",
      call = l.call or "-", bridge = l.bridge or "-",
    }
  end
  return pretty.columns(rows, LEG_COLS) .. "\n" .. plural(#list, "leg")
end

--- legs(): every live leg: who holds it, which bridge it is in
function lib.legs()
  return view(C.legs(), render_legs)
end

local EP_COLS = {
  { "ENDPOINT", "name" }, { "CONTEXT", "context" }, { "CALLER ID", "cid" },
  { "CONTACT", "uri" }, { "VIA", "via" }, { "EXPIRES", "expires", right = true },
  { "REACHABLE", "reachable" },
}

local function render_endpoints(list)
  if #list == 0 then return "no endpoints" end
  local rows, contacts = {}, 0
  for _, ep in ipairs(list) do
    local cid = ep.caller_num and (ep.caller_name and ("%s <%s>"):format(
      ep.caller_name, ep.caller_num) or ep.caller_num)
    local base = { name = ep.name, context = ep.context, cid = cid }
    if #ep.contacts == 0 then
      base.uri = "(not registered)"
      rows[#rows + 1] = base
    end
    for i, c in ipairs(ep.contacts) do
      local row = i == 1 and base or {}
      row.uri, row.via = c.uri, c.via
      row.expires = c.expires_in .. " s"
      if c.reachable ~= nil then
        row.reachable = c.reachable and ("yes, %d ms"):format(c.rtt_ms or 0) or "no"
      end
      rows[#rows + 1] = row
      contacts = contacts + 1
    end
  end
  return pretty.columns(rows, EP_COLS) .. "\n" .. plural(#list, "endpoint")
    .. ", " .. plural(contacts, "registered contact")
end

--- endpoints(): every endpoint and where it is registered
function lib.endpoints()
  local list = C.endpoints()
  table.sort(list, function(a, b) return a.name < b.name end)
  return view(list, render_endpoints)
end

local TRUNK_COLS = {
  { "TRUNK", "name" }, { "KIND", "kind" }, { "SERVER", "server" }, { "STATE", "state" },
  { "EXPIRES", "expires", right = true }, { "REACHABLE", "reachable" },
  { "RTT", "rtt", right = true }, { "LAST ERROR", "last_error" },
}

local function render_trunks(list)
  if not core.trunks then return "no trunks configured" end
  if #list == 0 then return "no trunks" end
  local rows = {}
  for i, t in ipairs(list) do
    local state = t.state
    if t.retry_in then state = ("%s (retry in %d s)"):format(state, t.retry_in) end
    if t.contacts then state = ("%s, %s"):format(state, plural(t.contacts, "contact")) end
    rows[i] = {
      name = t.name, kind = t.kind, server = t.server, state = state,
      last_error = t.last_error,
      expires = t.expires_in and (t.expires_in .. " s"),
      reachable = t.reachable ~= nil and (t.reachable and "yes" or "no") or nil,
      rtt = t.rtt_ms and (("%d ms"):format(t.rtt_ms)),
    }
  end
  return pretty.columns(rows, TRUNK_COLS) .. "\n" .. plural(#list, "trunk")
end

--- trunks(): registrations to providers and peers, as the trunks know them
function lib.trunks()
  return view(core.trunks and core.trunks() or {}, render_trunks)
end

local function render_status(s)
  return table.concat({
    ("configuration  %s (generation %d%s)"):format(s.config, s.generation,
      s.reload_on_change and ", reloaded when its folder changes" or ""),
    ("SIP            %s, trace %s"):format(s.listen, s.trace and "on" or "off"),
    ("calls          %d"):format(s.calls),
    ("endpoints      %d, %s"):format(s.endpoints, plural(s.contacts, "registered contact")),
    ("Lua memory     %s of %s; a call may hold %s"):format(pretty.bytes(s.lua_mem),
      pretty.bytes(s.lua_mem_limit),
      s.call_mem_limit > 0 and pretty.bytes(s.call_mem_limit) or "any part"),
    ("log level      %s"):format(s.log_level),
    ("state folder   %s"):format(s.state_dir),
  }, "\n")
end

--- status(): the PBX at a glance
function lib.status()
  return view(C.status(), render_status)
end

local function voicemail_module()
  local env = generation_env()
  return env and env.require("lunapbx.voicemail")
end

local VM_COLS = {
  { "MAILBOX", "number" }, { "NAME", "name" }, { "NEW", "new", right = true },
  { "OLD", "old", right = true }, { "URGENT", "urgent", right = true },
  { "TOTAL", "total", right = true }, { "PHONES", "phones" },
}

local MSG_COLS = {
  { "ID", "id", right = true }, { "FOLDER", "folder" }, { "RECEIVED", "when" },
  { "FROM", "from" }, { "SECONDS", "secs", right = true }, { "HEARD", "heard" },
  { "FILE", "file" },
}

local function render_boxes(list)
  if #list == 0 then return "no mailboxes" end
  return pretty.columns(list, VM_COLS) .. "\n" .. plural(#list, "mailbox")
end

local function render_messages(list)
  if #list == 0 then return "no messages in mailbox " .. (list.mailbox or "?") end
  local rows = {}
  for i, m in ipairs(list) do
    rows[i] = { id = m.id, folder = m.folder, when = os.date("%Y-%m-%d %H:%M:%S", m.received),
                from = m.caller_name and ("%s <%s>"):format(m.caller_name, m.caller_num or "")
                  or m.caller_num or "unknown",
                secs = ("%.1f"):format(m.duration), heard = m.heard and "yes" or "no",
                file = m.file }
  end
  return pretty.columns(rows, MSG_COLS) .. "\n" .. plural(#list, "message")
end

--- voicemail(): every mailbox and its counts; voicemail("6001"): its
--- messages (id, folder, date, caller, length, heard, file)
function lib.voicemail(number)
  local vm = voicemail_module()
  if not vm then fail("no configuration loaded") end
  if number ~= nil then
    number = tostring(number)
    if not vm.box(number) then fail("no mailbox " .. number) end
    local list, err = vm.list(number)
    if not list then fail("voicemail " .. number .. ": " .. err) end
    list.mailbox = number
    return view(list, render_messages)
  end
  local rows = {}
  for _, box in ipairs(vm.boxes()) do
    local new, old, urgent = vm.counts(box.number)
    local c = core.vm.counts(box.number) or {}
    rows[#rows + 1] = { number = box.number, name = box.name, new = new, old = old,
                        urgent = urgent, total = c.total,
                        phones = table.concat(box.endpoints, ", ") }
  end
  return view(rows, render_boxes)
end

--- vm_delete("6001", id): delete a message
function lib.vm_delete(number, id)
  local vm = voicemail_module()
  if not vm then fail("no configuration loaded") end
  local ok, err = vm.delete(tostring(number), id)
  if not ok then fail(("voicemail %s: message %s: %s"):format(number, tostring(id), err)) end
  return true
end

local function confbridge_module()
  local env = generation_env()
  local cb = env and env.require("lunapbx.confbridge")
  if not cb then fail("no configuration loaded") end
  return cb
end

local ROOM_COLS = {
  { "ROOM", "name" }, { "PARTIES", "parties", right = true }, { "ADMINS", "admins", right = true },
  { "MARKED", "marked", right = true }, { "LOCKED", "locked" }, { "MUTED", "muted" },
  { "RECORDING", "recording" },
}

local MEMBER_COLS = {
  { "LEG", "id", right = true }, { "CALLER", "caller" }, { "ROLE", "role" },
  { "MUTED", "muted" }, { "TALKING", "talking" }, { "TALKED", "talked", right = true },
  { "IN FOR", "age", right = true },
}

local function yes(v) return v and "yes" or "no" end

local function render_rooms(list)
  if #list == 0 then return "no rooms" end
  local rows = {}
  for i, r in ipairs(list) do
    rows[i] = { name = r.name, parties = r.parties, admins = r.admins, marked = r.marked,
                locked = yes(r.locked), muted = yes(r.muted), recording = r.recording or "-" }
  end
  return pretty.columns(rows, ROOM_COLS) .. "\n" .. plural(#list, "room")
end

local function render_members(r)
  local rows = {}
  for i, m in ipairs(r.members) do
    local role = {}
    if m.admin then role[#role + 1] = "admin" end
    if m.marked then role[#role + 1] = "marked" end
    if m.waiting then role[#role + 1] = "waiting" end
    rows[i] = { id = m.id, caller = m.caller_name and ("%s <%s>"):format(m.caller_name, m.caller or "")
                  or m.caller or "-",
                role = #role > 0 and table.concat(role, ", ") or "-", muted = yes(m.muted),
                talking = yes(m.talking), talked = ("%.1f s"):format(m.talk_seconds or 0),
                age = clock(math.floor((m.seconds or 0) * 1000)) }
  end
  return ("room %s%s%s\n"):format(r.name, r.locked and ", locked" or "",
                                  r.recording and (", recording " .. r.recording) or "")
    .. pretty.columns(rows, MEMBER_COLS) .. "\n" .. plural(#rows, "participant")
end

--- rooms(): every conference room in progress; rooms("main"): its
--- participants (leg, caller, admin/marked, muted, talking, time talked)
function lib.rooms(name)
  local cb = confbridge_module()
  if name ~= nil then
    local r = cb.info(tostring(name))
    if not r then fail("no room " .. tostring(name)) end
    return view(r, render_members)
  end
  return view(cb.rooms(), render_rooms)
end

--- room_kick(room, who): who is a leg id, "last", "all" or "participants"
function lib.room_kick(name, who)
  return confbridge_module().kick(name, who)
end

--- room_mute(room, who [, on]): who as room_kick's; on = false unmutes
function lib.room_mute(name, who, on)
  return confbridge_module().mute(name, who, on)
end

--- room_lock(room [, on]): on = false unlocks
function lib.room_lock(name, on)
  return confbridge_module().lock(name, on)
end

local CDR_COLS = {
  { "SEQ", "sequence", right = true }, { "START (UTC)", "start" },
  { "SRC", "src" }, { "DST", "dst" }, { "CONTEXT", "context" },
  { "CHANNEL", "channel" }, { "DSTCHANNEL", "dstchannel" },
  { "DISPOSITION", "disposition" }, { "DUR", "duration", right = true },
  { "BILL", "billsec", right = true }, { "ACCOUNT", "accountcode" },
  { "USERFIELD", "userfield" },
}

local function render_cdr(list)
  if #list == 0 then return "no call records" end
  return pretty.columns(list, CDR_COLS) .. "\n" .. plural(#list, "record")
end

--- cdr([n]): the last n call records (10), oldest first; each row has
--- every field (uniqueid, linkedid, answer, ...) and the dialplan's own
function lib.cdr(n)
  return view(core.cdr(n), render_cdr)
end

---------------------------------------------------------------------------
-- Acting on the PBX

--- reload(): compile the configuration again; on error the running one
--- stays and the error names file:line
local function queue_module()
  local env = generation_env()
  local q = env and env.require("lunapbx.queue")
  if not q then fail("no configuration loaded") end
  return q
end

local QUEUE_COLS = {
  { "QUEUE", "name" }, { "STRATEGY", "strategy" }, { "WAITING", "waiting", right = true },
  { "LONGEST", "longest", right = true }, { "CALLS", "calls", right = true },
  { "ANSWERED", "answered", right = true }, { "ABANDONED", "abandoned", right = true },
  { "SL%", "sl", right = true }, { "HOLD", "hold", right = true },
  { "AGENTS", "agents", right = true }, { "FREE", "free", right = true },
}

local AGENT_COLS = {
  { "MEMBER", "name" }, { "STATE", "state" }, { "PAUSED", "paused" },
  { "PENALTY", "penalty", right = true }, { "CALLS", "calls", right = true },
  { "KIND", "kind" },
}

local WAITER_COLS = {
  { "POS", "position", right = true }, { "CALLER", "caller" }, { "WAITING", "wait", right = true },
  { "PRIO", "prio", right = true }, { "RINGING", "ringing" },
}

local function secs(s) return clock(math.floor((s or 0) * 1000)) end

local function render_queues(list)
  if #list == 0 then return "no queues" end
  local rows = {}
  for i, q in ipairs(list) do
    rows[i] = { name = q.name, strategy = q.strategy, waiting = q.waiting,
                longest = secs(q.longest_wait), calls = q.calls, answered = q.answered,
                abandoned = q.abandoned, sl = ("%.0f"):format(q.service_level),
                hold = secs(q.holdtime), agents = #q.members, free = q.available }
  end
  return pretty.columns(rows, QUEUE_COLS) .. "\n" .. plural(#list, "queue")
end

local function render_queue(q)
  local rows = {}
  for i, m in ipairs(q.members) do
    rows[i] = { name = m.name, state = m.state, penalty = m.penalty, calls = m.calls,
                paused = m.paused and (m.reason or "yes") or "no",
                kind = m.static and (m.dynamic and "static+login" or "static") or "login" }
  end
  local out = { render_queues({ q }), "", pretty.columns(rows, AGENT_COLS) }
  if #q.callers > 0 then
    local w = {}
    for i, c in ipairs(q.callers) do
      w[i] = { position = c.position, wait = secs(c.wait), prio = c.prio,
               caller = c.caller_name and ("%s <%s>"):format(c.caller_name, c.caller or "")
                 or c.caller, ringing = c.ringing and "yes" or "" }
    end
    out[#out + 1] = ""
    out[#out + 1] = pretty.columns(w, WAITER_COLS)
  else
    out[#out + 1] = "nobody waiting"
  end
  return table.concat(out, "\n")
end

--- queues(): every queue's live figures; queues("support"): its members
--- and waiting callers as well
function lib.queues(name)
  local q = queue_module()
  if name ~= nil then
    local st, err = q.stats(tostring(name))
    if not st then fail(err) end
    return view(st, render_queue)
  end
  local list = {}
  for _, n in ipairs(q.names()) do list[#list + 1] = q.stats(n) end
  return view(list, render_queues)
end

local function queue_result(ok, err, what)
  if not ok then fail(what .. ": " .. tostring(err)) end
  return true
end

--- queue_add(queue, member [, penalty]): a dynamic member (AddQueueMember)
function lib.queue_add(name, member, penalty)
  local ok, err = queue_module().add(name, member, { penalty = penalty })
  return queue_result(ok, err, "queue_add")
end

--- queue_remove(queue, member): a dynamic member leaves
function lib.queue_remove(name, member)
  local ok, err = queue_module().remove(name, member)
  return queue_result(ok, err, "queue_remove")
end

--- queue_pause(member [, queue [, reason]]), queue_unpause(member [, queue])
function lib.queue_pause(member, name, reason)
  local ok, err = queue_module().pause(member, { queue = name, reason = reason })
  return queue_result(ok, err, "queue_pause")
end

function lib.queue_unpause(member, name)
  local ok, err = queue_module().unpause(member, { queue = name })
  return queue_result(ok, err, "queue_unpause")
end

function lib.reload()
  local gen, ms, eps = C.reload()
  if not gen then fail("reload failed, the running configuration stays: " .. ms) end
  return view({ generation = gen, ms = ms, endpoints = eps }, function(r)
    return ("generation %d in force (%s), compiled in %.1f ms"):format(
      r.generation, plural(r.endpoints, "endpoint"), r.ms)
  end)
end

--- hangup(id [, code]): end a call (the code when not answered yet)
function lib.hangup(id, code)
  local ok, why = C.hangup(id, code)
  if not ok then fail(why) end
  return true
end

--- hangup_leg(id [, code]): one leg ends (its call goes on)
function lib.hangup_leg(id, code)
  local ok, why = C.hangup_leg(id, code)
  if not ok then fail(why) end
  return true
end

--- originate{ to=, exten= [, context=, timeout=, caller_name=, caller_num=] }
--- ring endpoint `to`; when it answers, run exten@context for it
function lib.originate(t)
  if type(t) ~= "table" then fail("originate{ to = endpoint, exten = ..., context = ... }") end
  local id, why = C.originate(t)
  if not id then fail("originate: " .. why) end
  return id
end

lib.sip = {
  --- sip.trace([on]): every SIP message in and out goes to the log
  trace = function(on) return core.trace(on) end,
}

local function logger(level)
  return function(fmt, ...)
    local msg = select("#", ...) > 0 and fmt:format(...) or tostring(fmt)
    core.log(level, msg)
  end
end

lib.log = {
  --- log.level([name]): "error" | "warn" | "info" | "debug"
  level = function(name) return C.log_level(name) end,
  --- log.follow([on]): this console shows every log line as it comes
  follow = function(on)
    if on == nil then on = true end
    if C.follow(on) then return "following the log; log.follow(false) stops" end
    return "not following the log"
  end,
  error = logger("error"), warn = logger("warn"),
  info = logger("info"), debug = logger("debug"),
}

function lib.print(...)
  local n, parts = select("#", ...), {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  C.write(table.concat(parts, "\t"))
end

local HELP = [[
calls()                  calls in progress: state, age, bridge, codec,
                         dialplan function and line, Lua memory
legs()                   legs: state, who holds them, their bridge
endpoints()              endpoints, registered contacts, expiry
trunks()                 trunks: registration state, reachability
status()                 the PBX at a glance
reload()                 compile the configuration again (file:line on error)
hangup(id [, code])      end a call
hangup_leg(id [, code])  end one leg
cdr([n])                 the last n call records (10)
voicemail([mailbox])     mailboxes and their counts; a mailbox's messages
vm_delete(mailbox, id)   delete a message
rooms([room])            conference rooms; a room's participants
queues([queue])          call queues: waiting, answered, abandoned,
                         service level; a queue's members and callers
queue_add(queue, member [, penalty])  a member logs in (dynamic)
queue_remove(queue, member)  ... and out
queue_pause(member [, queue, reason])  not rung until unpaused
queue_unpause(member [, queue])  (queue nil: every queue)
room_kick(room, who)     who: a leg id, "last", "all", "participants"
room_mute(room, who [, on])  mute (on = false: unmute) as room_kick's who
room_lock(room [, on])   lock (on = false: unlock) a room
originate{ to = "alice", exten = "100" [, context =, timeout = s] }
                         ring alice; when she answers, run 100 for her
sip.trace(on)            SIP messages to the log
log.level([name])        error, warn, info, debug
log.follow([on])         show the log here as it comes
pbx                      the configuration's lunapbx module
                         (pbx.match(context, exten), ...)
Expressions print their value; an unfinished statement goes on on the
next line; TAB completes names (pbx.<TAB>).  Ctrl-D leaves.]]

function lib.help() return HELP end

---------------------------------------------------------------------------
-- Sessions, chunks, completion

function M.session()
  local s = {}
  s.env = setmetatable({}, { __index = function(_, k)
    local v = lib[k]
    if v ~= nil then return v end
    if k == "pbx" then return current_pbx() end
    local env = generation_env()
    if env then return env[k] end
    return _ENV[k]
  end })
  return s
end

function M.banner()
  local st = C.status()
  return ("olunapbx console: generation %d, %s, %s (%s); Lua %s.\n"
    .. "help() lists what you can do; Ctrl-D leaves."):format(
    st.generation, plural(st.calls, "call"), plural(st.endpoints, "endpoint"),
    plural(st.contacts, "registered contact"), pretty.bytes(st.lua_mem))
end

local function describe(f)
  local info = C.getinfo(f, "S")
  if info.what == "C" then return "builtin function" end
  return ("function <%s:%d>"):format(info.short_src, info.linedefined)
end

local function show(v)
  if type(v) == "string" then return v end
  return pretty.format(v, { func = describe })
end

-- The error and the frames of the user's own code; the console's frames
-- and a traceback that says nothing more than the message go.
local function clean(msg)
  if type(msg) ~= "string" then return show(msg) end
  local head, tb = msg:match("^(.-)\nstack traceback:\n(.*)$")
  if not head then return msg end
  local keep, useful = {}, false
  for line in (tb .. "\n"):gmatch("(.-)\n") do
    if line:find("in function 'xpcall'", 1, true) then break end
    if not line:find("[C]:", 1, true) then
      keep[#keep + 1] = line
      useful = useful or not line:find("in main chunk", 1, true)
    end
  end
  if not useful then return head end
  return head .. "\nstack traceback:\n" .. table.concat(keep, "\n")
end

-- Which syntax error to show when src is neither an expression nor a
-- chunk: the chunk's, unless it stumbled on the very first token (then
-- src was meant as an expression: "1 +* 2").
local function syntax_error(src, as_expr, as_chunk)
  local near = as_chunk:match("^console:1: unexpected symbol near '(.*)'$")
  local first = src:match("^%s*()")
  if near and as_expr and src:sub(first, first + #near - 1) == near then
    return as_expr
  end
  return as_chunk
end

--- compile(s, src): the chunk as a function (the C side runs it), or
--- "i" when it is unfinished, or "e" .. the syntax error
function M.compile(s, src)
  local fn, err = C.load("return " .. src, "=console", "t", s.env)
  local expr_err = err
  if not fn then fn, err = C.load(src, "=console", "t", s.env) end
  if fn then return fn end
  if err:sub(-5) == "<eof>" then return "i" end
  return "e" .. syntax_error(src, expr_err, err)
end

--- show(s, ...): what the chunk returned, as text
function M.show(_, ...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = show((select(i, ...))) end
  return "o" .. table.concat(out, "\t")
end

--- fail(s, err): the chunk's error, with the frames of its own code
function M.fail(_, err)
  return "e" .. clean(err)
end

-- Fields a value offers: a table's keys and those of its __index tables;
-- a userdata's methods (its metatable's `methods` or __index table).
local function fields_of(v, add)
  for _ = 1, 8 do
    local mt = getmetatable(v)
    if type(v) == "table" then
      for k, x in next, v do add(k, x) end
    elseif type(mt) == "table" and type(rawget(mt, "methods")) == "table" then
      for k, x in next, rawget(mt, "methods") do add(k, x) end
    end
    v = type(mt) == "table" and rawget(mt, "__index") or nil
    if type(v) ~= "table" then return end
  end
end

local function lookup(v, k)
  local t = v
  for _ = 1, 8 do
    if type(t) ~= "table" then return nil end
    local x = rawget(t, k)
    if x ~= nil then return x end
    local mt = getmetatable(t)
    t = type(mt) == "table" and rawget(mt, "__index") or nil
  end
end

function M.complete(s, word)
  local path, sep, partial = word:match("^(.*)([.:])([%w_]*)$")
  local found, names = {}, {}
  local function add(k, x)
    if type(k) == "string" and k:match("^[%a_][%w_]*$") and found[k] == nil
      and k:sub(1, #(partial or word)) == (partial or word)
      and (sep ~= ":" or type(x) == "function") then
      found[k] = x
      names[#names + 1] = k
    end
  end

  if path then
    local v
    for name in path:gmatch("[^.]+") do
      if v == nil then v = s.env[name] else v = lookup(v, name) end
    end
    if v ~= nil then fields_of(v, add) end
  else
    path, sep = "", ""
    fields_of(rawget(s, "env"), add)
    fields_of(lib, add)
    add("pbx", current_pbx())
    local env = generation_env()
    fields_of(env or _ENV, add)
  end

  table.sort(names)
  if #names == 1 then
    local x = found[names[1]]
    local suffix = type(x) == "function" and "(" or type(x) == "table" and "." or ""
    names[1] = names[1] .. suffix
  end
  for i, k in ipairs(names) do names[i] = path .. sep .. k end
  return table.concat(names, "\n")
end

return M
