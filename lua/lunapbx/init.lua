-- lunapbx: the configuration language and the call runner.
--
--   local pbx = require "lunapbx"
--   pbx.settings { realm = "lunapbx", listen = "127.0.0.1:5060" }
--   pbx.endpoint "amine" { secret = "test", context = "internal",
--                          callerid = '"Amine" <100>', allow = { "PCMU" } }
--   pbx.context "internal" {
--     ["100"]   = function(call) call:dial("amine", { timeout = 20 }) end,
--     ["_6XXX"] = function(call, exten) call:dial("u" .. exten) end,
--     include   = { "features" },
--   }
--
-- Each configuration load (start and every reload) gets a fresh copy of
-- this module, so what one generation declares never leaks into the next.

local dialplan = require "lunapbx.dialplan"
local media = require "lunapbx.media"
local trunk = require "lunapbx.trunk"
local features = require "lunapbx.features"
local dial = require "lunapbx.dial"
local tones = require "lunapbx.tones"
local pickup = require "lunapbx.pickup"
local core = _core
local api_lib = require "lunapbx.api"

local pbx = {}
local state = {
  settings = {},
  endpoints = {},       -- in declaration order, for the C side
  endpoint_names = {},
  dp = dialplan.new(),
  features = features.new(),
  on = {},              -- event name -> { handlers } (pbx.on)
  routes = {},          -- HTTP path -> function(req) (pbx.http.route)
  commands = {},        -- API command -> function(args) (pbx.command)
  hints = {},           -- pbx.hint: BLF resources -> endpoints
  pickup = pickup.new { core = _core, log = function(level, fmt, ...)
    core.log(level, select("#", ...) > 0 and fmt:format(...) or fmt) end,
    endpoints_of = function(n) return pbx.endpoints_of(n) end },
}
pickup.service = state.pickup

local SETTINGS = {
  realm = "string", listen = "string", media_address = "string",
  rtp_ports = "string", guest_context = "string", log_level = "string",
  sounds = "string", language = "string", tonezone = "string",
  lua_memory_mb = "number", call_memory_mb = "number",
  reload_on_change = "boolean", rtp_timeout = "number", rtp_hold_timeout = "number",
  session_expires = "number", session_min_se = "number", cdr_csv = "boolean",
  moh_mode = "string",
  http = "table",
  security = "table",   -- checked by the core (README, Security)
}

--- pbx.settings { key = value, ... }: PBX-wide settings (see README).
function pbx.settings(t)
  if type(t) ~= "table" then error("pbx.settings expects a table", 2) end
  for k, v in pairs(t) do
    local want = SETTINGS[k]
    if not want then error(("pbx.settings: unknown setting '%s'"):format(tostring(k)), 2) end
    if type(v) ~= want then
      error(("pbx.settings: '%s' must be a %s"):format(k, want), 2)
    end
    state.settings[k] = v
  end
end

local ENDPOINT = {
  secret = "string", context = "string", callerid = "string", allow = "table",
  dtmf = "string", language = "string",
  qualify = "boolean|number", qualifyfreq = "number",
  permit = "string|table", deny = "string|table", call_limit = "number",
  allow_transfer = "boolean", moh = "string", hold = "string",
  callgroup = "number|string|table", pickupgroup = "number|string|table",
}

-- Call and pickup groups as sip.conf writes them (callgroup=1,3-4 and
-- namedcallgroup=sales): numbers 0-63, ranges, names; one field takes
-- both.  Normalised for the core to "1,3,4,sales".
local function groups(v)
  local items, seen, out = {}, {}, {}
  if type(v) == "table" then
    for i, x in ipairs(v) do
      if type(x) ~= "number" and type(x) ~= "string" then
        return nil, ("item %d is not a number or a name"):format(i)
      end
      items[#items + 1] = tostring(x)
    end
  else
    for x in tostring(v):gmatch("[^,]+") do items[#items + 1] = x end
  end
  local function add(g)
    if not seen[g] then seen[g] = true; out[#out + 1] = g end
  end
  for _, x in ipairs(items) do
    x = x:match("^%s*(.-)%s*$")
    local a, b = x:match("^(%d+)%-(%d+)$")
    if a then
      a, b = tonumber(a), tonumber(b)
      if a > b or b > 63 then return nil, ("bad range '%s' (0-63)"):format(x) end
      for g = a, b do add(tostring(g)) end
    elseif x:match("^%d+$") then
      if tonumber(x) > 63 then return nil, ("group %s is over 63"):format(x) end
      add(tostring(tonumber(x)))
    elseif x:match("^[%a_][%w_%-]*$") then
      add(x)
    else
      return nil, ("bad group '%s' (a number 0-63, a range, or a name)"):format(x)
    end
  end
  return table.concat(out, ",")
end

--- pbx.endpoint "name" { secret=, context=, callerid=, allow= }
-- Templates are plain Lua: build the table with a function or a merge.
function pbx.endpoint(name)
  if type(name) ~= "string" or name == "" or name:find("[%s@:;<>\"]") then
    error("pbx.endpoint: a name without spaces or SIP punctuation is needed", 2)
  end
  return function(t)
    if type(t) ~= "table" then error(("pbx.endpoint '%s': expects a table"):format(name), 2) end
    if state.endpoint_names[name] then
      error(("pbx.endpoint '%s' declared twice"):format(name), 2)
    end
    local ep = { name = name }
    for k, v in pairs(t) do
      local want = ENDPOINT[k]
      if not want then error(("pbx.endpoint '%s': unknown field '%s'"):format(name, tostring(k)), 2) end
      if not want:find(type(v), 1, true) then
        error(("pbx.endpoint '%s': '%s' must be a %s"):format(name, k, want:gsub("|", " or ")), 2)
      end
      ep[k] = v
    end
    if not ep.secret or #ep.secret == 0 then
      error(("pbx.endpoint '%s': a secret is required"):format(name), 2)
    end
    ep.context = ep.context or "default"
    if ep.hold ~= nil and ep.hold ~= "moh" and ep.hold ~= "passthrough" then
      error(("pbx.endpoint '%s': hold must be \"moh\" or \"passthrough\""):format(name), 2)
    end
    local qerr = trunk.qualify_error(ep)
    if qerr then error(("pbx.endpoint '%s': %s"):format(name, qerr), 2) end
    for _, k in ipairs { "callgroup", "pickupgroup" } do
      if ep[k] ~= nil then
        local g, gerr = groups(ep[k])
        if not g then error(("pbx.endpoint '%s': %s: %s"):format(name, k, gerr), 2) end
        ep[k] = g
      end
    end
    state.endpoint_names[name] = ep
    state.endpoints[#state.endpoints + 1] = ep
    return ep
  end
end

--- pbx.register "user[:secret]@host[:port][/contact]" [{ name=, expires=, timeout=, retry= }]
--- pbx.peer "name" { host=, port=, defaultuser=, secret=, insecure=, context=, qualify=, ... }
-- (lunapbx.trunk: sip.conf's register => and [peer] sections)
local trunks = trunk.new(state)
pbx.register = trunks.register
pbx.peer = trunks.peer

--- pbx.trunks(): the state of every registration and peer (see README).
function pbx.trunks()
  return core.trunks()
end

--- pbx.trunk(name): one of them, or nil.
function pbx.trunk(name)
  for _, t in ipairs(core.trunks()) do
    if t.name == name then return t end
  end
end

--- pbx.context "name" { [exten] = function(call, exten) ... end, include = {...} }
function pbx.context(name)
  return function(t)
    local ok, err = pcall(state.dp.add_context, state.dp, name, t)
    if not ok then error(err, 2) end
  end
end

--- pbx.hint(exten, endpoints): what a busy lamp of exten shows (Asterisk's
-- exten => 6002,hint,SIP/xlite): the dialogs of those endpoints' legs; an
-- empty list for a resource the dialplan sets itself (pbx.blf).  Every
-- endpoint is hinted already under its name and its callerid number.
function pbx.hint(exten, eps)
  if type(exten) ~= "string" or exten == "" or exten:find("[%s@:;<>\"]") then
    error("pbx.hint: an extension without spaces or SIP punctuation is needed", 2)
  end
  if type(eps) == "string" then eps = { eps } end
  if type(eps) ~= "table" then error(("pbx.hint '%s': an endpoint or a list"):format(exten), 2) end
  for i, e in ipairs(eps) do
    if type(e) ~= "string" then error(("pbx.hint '%s': item %d is not a name"):format(exten, i), 2) end
  end
  state.hints[exten] = { table.unpack(eps) }
end

-- The hints in force: the declared ones, then each endpoint's name and
-- callerid number (the first endpoint to claim a number keeps it).
local function all_hints()
  local h = {}
  for k, v in pairs(state.hints) do h[k] = v end
  for _, ep in ipairs(state.endpoints) do
    if h[ep.name] == nil then h[ep.name] = { ep.name } end
    local num = ep.callerid and (ep.callerid:match("<([^>]+)>") or ep.callerid:match("^%s*(%S+)%s*$"))
    if num and num ~= "" and not num:find("[%s@:;<>\"]") and h[num] == nil then
      h[num] = { ep.name }
    end
  end
  return h
end

--- pbx.endpoints_of(number): the endpoints a number names (its hint), or
-- the endpoint of that name; nil when none.
function pbx.endpoints_of(number)
  local h = state.hints[number]
  if h and #h > 0 then return h end
  if state.endpoint_names[number] then return { number } end
  for _, ep in ipairs(state.endpoints) do
    if ep.callerid and ep.callerid:match("<([^>]+)>") == number then return { ep.name } end
  end
end

--- pbx.blf(resource, leg | nil): the dialog a busy lamp of resource shows
-- (a hinted resource without endpoints: a parking space).
pbx.blf = core.blf
--- pbx.endpoint_info(name): { name, context, caller, caller_name,
-- callgroup = {["1"]=true}, pickupgroup = {...}, contacts = n } or nil.
pbx.endpoint_info = core.endpoint_info
--- pbx.ringing(): the dials that ring now, oldest first (d.caller,
-- d.endpoints, d.started; d:pickup(leg)).
pbx.ringing = core.ringing
--- pbx.shared(name): a table kept across reloads.
pbx.shared = core.shared
--- pbx.on_pickup(function(p) ... end): p.kind "group"|"directed"|
-- "replaces", p.by (the picker's leg), p.dial, p.endpoint; false refuses.
function pbx.on_pickup(fn) state.pickup.on_pickup(fn) end

--- pbx.log(level, fmt, ...): "error" | "warn" | "info" | "debug"
function pbx.log(level, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or tostring(fmt)
  core.log(level, msg)
end

--- pbx.sleep(s): wait in the current call; false if the caller hung up.
pbx.sleep = core.sleep
--- pbx.now(): seconds of the PBX clock.
pbx.now = core.now
--- pbx.dial(targets, { caller = leg, timeout = s, ... }) -> a dial handle
pbx.dial = core.dial
--- pbx.bridge([a, b]) -> a bridge this call owns
pbx.bridge = core.bridge
--- pbx.wait(x, ... [, s]): the first of dials, bridges, legs to come
pbx.wait = core.wait
--- pbx.room(name) -> the conference room of that name (a bridge) or nil;
--- pbx.bridge{ room = name } finds or makes it (lunapbx.confbridge)
pbx.room = core.room
--- pbx.rooms() -> { room, ... }: every room in progress
pbx.rooms = core.rooms
--- pbx.features { blindxfer = "#1", ... } (features.conf)
function pbx.features(t) state.features.set(t) end
--- pbx.on_transfer(function(t) ... end): veto or rewrite transfers
function pbx.on_transfer(fn) state.features.on_transfer(fn) end
--- pbx.trace(on): SIP trace to the log.
pbx.trace = core.trace
--- pbx.stats([collect]): { calls = N, lua_bytes = B }; collect = true runs
-- a full garbage collection first (B is then what is really in use).
pbx.stats = core.stats
--- pbx.capture{ file = "x.pcap", rtp = true }: pcap capture under
-- <state>/captures/; pbx.capture(false) stops it, pbx.capture() says which
-- file is being written.  call:capture() adds one call's RTP.
pbx.capture = core.capture

--- pbx.on(name, fn): fn(ev) for every event `name` ("*": every event),
-- the events the WebSocket clients get (see README, Operations).  The
-- handlers belong to this generation: a reload's replace them.
function pbx.on(name, fn)
  if type(name) ~= "string" or name == "" then error("pbx.on: an event name is expected", 2) end
  if type(fn) ~= "function" then error("pbx.on: a function is expected", 2) end
  local list = state.on[name] or {}
  list[#list + 1] = fn
  state.on[name] = list
end

--- pbx.emit(name [, fields]): a custom event, to the WebSocket clients and
-- the pbx.on handlers; false when nobody listens.
pbx.emit = core.emit

--- pbx.http.route(path, fn): fn(req) answers GET/POST on path of the PBX's
-- HTTP server: returns status, body [, content_type] (a table body goes
-- as JSON).  req: method, path, query (a table), body, headers, token.
pbx.http = {}
function pbx.http.route(path, fn)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    error("pbx.http.route: a path starting with / is expected", 2)
  end
  if path == "/events" or path == "/metrics" or path == "/api" or path:sub(1, 5) == "/api/" then
    error(("pbx.http.route: %s is the PBX's own"):format(path), 2)
  end
  if type(fn) ~= "function" then error("pbx.http.route: a function is expected", 2) end
  state.routes[path] = fn
end

--- pbx.command(name, fn): a command of the API (WebSocket, POST /api/name):
-- fn(args) returns a result table, or nil and why.  Parking and queues
-- register theirs (park, queue_add, queue_pause) this way.
function pbx.command(name, fn)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then
    error("pbx.command: a name of letters, digits and _ is expected", 2)
  end
  if type(fn) ~= "function" then error("pbx.command: a function is expected", 2) end
  state.commands[name] = fn
end

--- pbx.match(context, exten): the function that would run, and where.
function pbx.match(context, exten)
  return state.dp:match(context, exten)
end

--- pbx.matchmore(context, exten): could a longer number still match?
function pbx.matchmore(context, exten)
  return state.dp:matchmore(context, exten)
end

--- pbx.store.exec(sql, ...), .query(sql, ...), .migrate(module, steps),
--- .transaction(fn): the PBX's database (core/store) for Lua services
pbx.store = { exec = core.store_exec, append = core.store_append, query = core.store_query,
              migrate = core.store_migrate, transaction = core.store_transaction }
--- pbx.signal(): what another script notifies to wake this call's
--- (sig:notify(v); pbx.wait(leg, sig, s) -> sig, "signal", v)
pbx.signal = core.signal
--- pbx.endpoint_presence({ names }): { name = { contacts = n, legs = n } }
pbx.endpoint_presence = core.endpoint_presence

--- pbx.media_stats([reset]): the media clock and the sound cache.
pbx.media_stats = core.media_stats
--- pbx.delete_recording(file): remove a recording call:record made
pbx.delete_recording = core.delete_recording

-- The API's commands written in Lua (play, record, bridge; see api.lua);
-- pbx.command replaces them.
local api = api_lib.new(function(...) pbx.log(...) end)
for name, fn in pairs(api.commands) do state.commands[name] = fn end

-- The core calls this in a new coroutine for every call.
local function run_call(call)
  if call.context == api_lib.CONTEXT then return api.run(call) end
  if call.replaces then            -- INVITE/Replaces of a ringing dialog
    return state.pickup.replaces(call)
  end
  local fn, info = state.dp:match(call.context, call.exten)
  if not fn then
    pbx.log("info", "call %d: no extension %s in context %s", call.id,
            call.exten, call.context)
    call:hangup(404)
    return
  end
  call.vars.pattern = info.pattern
  local ep = call.endpoint and state.endpoint_names[call.endpoint]
  call.vars.language = call.vars.language or (type(ep) == "table" and ep.language)
    or state.settings.language or "en"
  return fn(call, call.exten)   -- a tail call: one frame less on its stack
end

-- The tone of the caller's zone (media.lua's rule): ringback on dials.
local function tone_of(call, name)
  local zone = call.vars.tonezone or state.settings.tonezone
  if not zone then
    local lang = call.vars.language or state.settings.language
    zone = lang == "fr" and "fr" or "us"
  end
  return (tones.spec(name, zone))
end

-- The call's methods written in Lua: media (collect, say_*, tone) and
-- dial (call:dial, the transfers it runs).
local function call_methods()
  local methods = media.methods(state.settings)
  local dm = dial.new {
    core = core, features = state.features, tones = tone_of, log = pbx.log,
    parking = require("lunapbx.parking"),
    match = function(ctx, exten) return (state.dp:match(ctx, exten)) end,
    matchmore = function(ctx, exten) return state.dp:matchmore(ctx, exten) end,
  }
  for k, v in pairs(dm) do methods[k] = v end
  methods.sleep = function(_, s) return core.sleep(s) end
  return methods
end

-- What this generation declared, for the core.
function pbx._export()
  return {
    settings = state.settings,
    endpoints = state.endpoints,
    registrations = state.registrations,
    peers = state.peers,
    mailboxes = require("lunapbx.voicemail").export(),   -- for MWI
    hints = all_hints(),                                  -- for BLF
    handler = run_call,
    on = state.on,
    routes = state.routes,
    commands = state.commands,
    call_methods = call_methods(),
  }
end

return pbx
