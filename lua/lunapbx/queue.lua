-- lunapbx.queue: call queues (Asterisk's app_queue, queues.conf) as Lua.
--
--   local queue = require "lunapbx.queue"
--   queue.template "StandardQueue" { strategy = "rrmemory", joinempty = "no",
--                                    leavewhenempty = "yes", ringinuse = false }
--   queue.define "support" { template = "StandardQueue", members = { "xlite", "bria" } }
--   ["7001"] = function(call) local status = queue.join(call, "support") end,
--
-- The caller's side is lunapbx.queue_caller, the live state (members'
-- states from facts, waiting callers) lunapbx.queue_state, who to ring
-- lunapbx.queue_strategy, what survives a restart lunapbx.queue_store.

local core = _core
local state = require "lunapbx.queue_state"
local caller = require "lunapbx.queue_caller"
local strategies = require "lunapbx.queue_strategy"
local store = require "lunapbx.queue_store"

local M = {}
M.strategies = strategies

local TEMPLATES = {}
local CFG = state.CFG

-- Asterisk's defaults (queues.conf), in seconds.
local DEFAULTS = {
  strategy = "ringall", timeout = 15, retry = 5, wrapuptime = 0, maxlen = 0, weight = 0,
  joinempty = "yes", leavewhenempty = "no", ringinuse = true, autofill = true,
  persistentmembers = true, musicclass = "default", announce_frequency = 0,
  min_announce_frequency = 15, announce_holdtime = false, announce_position = true,
  announce_position_limit = 5, periodic_announce_frequency = 0,
  random_periodic_announce = false, relative_periodic_announce = false,
  servicelevel = 60, options = "", autopause = "no", autopausebusy = false,
  autopauseunavail = false,
  -- the prompts (queues.conf's queue-youarenext, queue-thereare, ...)
  queue_youarenext = "queue-youarenext", queue_thereare = "queue-position",
  queue_holdtime = "queue-holdtime", queue_lessthan = "queue-less-than",
  queue_minute = "minute", queue_minutes = "minutes", queue_thankyou = "queue-thankyou",
  queue_quantity1 = "queue-quantity1", queue_quantity2 = "queue-quantity2",
}

local FIELDS = {
  strategy = "string|function", timeout = "number", retry = "number", wrapuptime = "number",
  maxlen = "number", weight = "number", joinempty = "string|boolean",
  leavewhenempty = "string|boolean", ringinuse = "boolean", autofill = "boolean",
  persistentmembers = "boolean", musicclass = "string", announce_frequency = "number",
  min_announce_frequency = "number", announce_holdtime = "boolean|string",
  announce_position = "boolean|string", announce_position_limit = "number",
  periodic_announce = "string|table", periodic_announce_frequency = "number",
  random_periodic_announce = "boolean", relative_periodic_announce = "boolean",
  announce = "string",
  servicelevel = "number", context = "string", exits = "table", options = "string",
  autopause = "boolean|string", autopausebusy = "boolean", autopauseunavail = "boolean",
  members = "table", template = "string|table",
  random = "function", number = "string",
  queue_youarenext = "string", queue_thereare = "string", queue_callswaiting = "string",
  queue_holdtime = "string", queue_lessthan = "string", queue_minute = "string",
  queue_minutes = "string", queue_thankyou = "string", queue_quantity1 = "string",
  queue_quantity2 = "string",
}

-- Fields taking Asterisk's words: the words allowed, true/false meaning
-- "yes"/"no".
local WORDS = {
  announce_position = { yes = true, no = true, limit = true, more = true },
  announce_holdtime = { yes = true, no = true, once = true },
  autopause = { yes = true, no = true, all = true },
}

local function words(name, q)
  for k, allowed in pairs(WORDS) do
    local v = q[k]
    if v == true then v = "yes" elseif v == false then v = "no" end
    if not allowed[v] then
      local list = {}
      for w in pairs(allowed) do list[#list + 1] = '"' .. w .. '"' end
      table.sort(list)
      error(("queue '%s': '%s' must be true, false or one of %s"):format(
            name, k, table.concat(list, ", ")), 3)
    end
    q[k] = v
  end
  if type(q.periodic_announce) == "table" then
    for i, p in ipairs(q.periodic_announce) do
      if type(p) ~= "string" then
        error(("queue '%s': periodic_announce[%d] must be a prompt name"):format(name, i), 3)
      end
    end
  end
end

local function check(what, name, t)
  for k, v in pairs(t) do
    local want = FIELDS[k]
    if not want then
      error(("%s '%s': unknown field '%s'"):format(what, name, tostring(k)), 3)
    end
    if not want:find(type(v), 1, true) then
      error(("%s '%s': '%s' must be a %s"):format(what, name, k, want:gsub("|", " or ")), 3)
    end
  end
end

-- The settings of t over its templates (a name or a list of names; a
-- template may have templates of its own), over the defaults.
local function resolve(t, seen)
  local out = {}
  for k, v in pairs(DEFAULTS) do out[k] = v end
  local tpl = t.template
  if type(tpl) == "string" then tpl = { tpl } end
  for _, name in ipairs(tpl or {}) do
    local base = TEMPLATES[name]
    if not base then error(("no queue template '%s'"):format(name), 0) end
    seen = seen or {}
    if seen[name] then error(("queue template '%s' inherits itself"):format(name), 0) end
    seen[name] = true
    for k, v in pairs(resolve(base, seen)) do out[k] = v end
  end
  for k, v in pairs(t) do out[k] = v end
  out.template = nil
  return out
end

--- queue.template "name" { settings }: a template (queues.conf's `(!)`),
--- used by `template = "name"`; never a queue itself.
function M.template(name)
  return function(t)
    if type(t) ~= "table" then error("queue.template: expects a table", 2) end
    check("queue template", name, t)
    TEMPLATES[name] = t
    return t
  end
end

local function member_spec(i, x)
  if type(x) == "string" then return { name = x, listed = i } end
  if type(x) == "table" and type(x[1] or x.name) == "string" then
    return { name = x[1] or x.name, penalty = x.penalty, weight = x.weight,
             skills = x.skills, listed = i }
  end
  error(("member %d: an endpoint name or { name, penalty =, weight =, skills = }"):format(i), 0)
end

-- The configured (static) members, and the saved ones on the first load.
local function sync_members(q, qs)
  local listed = {}
  for i, x in ipairs(q.members or {}) do
    local spec = member_spec(i, x)
    listed[spec.name] = true
    local m = qs.members[spec.name]
    if not m then m = state.new_member(qs, spec.name, { static = true }) end
    m.static, m.listed = true, spec.listed
    m.penalty, m.weight = spec.penalty or 0, spec.weight or 1
    m.skills = spec.skills or {}
  end
  for name, m in pairs(qs.members) do
    if m.static and not listed[name] then
      m.static = false
      if not m.dynamic then qs.members[name] = nil end
    end
  end
  if qs.loaded then return end
  qs.loaded = true
  if not q.persistentmembers then return end
  for name, row in pairs(store.members(q.name)) do
    local m = qs.members[name]
    if not m and row.dynamic then
      m = state.new_member(qs, name, { dynamic = true, penalty = row.penalty })
    end
    if m then m.paused, m.reason = row.paused, row.reason end
  end
end

--- queue.define "name" { settings, members = { "xlite", { "bria", penalty = 1 } } }
function M.define(name)
  if type(name) ~= "string" or not name:match("^[%w_.-]+$") then
    error("queue.define: a name of letters, digits, _ . - is needed", 2)
  end
  return function(t)
    if type(t) ~= "table" then error(("queue '%s': expects a table"):format(name), 2) end
    check("queue", name, t)
    local ok, q = pcall(resolve, t)
    if not ok then error(("queue '%s': %s"):format(name, q), 2) end
    words(name, q)
    if type(q.strategy) == "string" and not strategies[q.strategy] then
      error(("queue '%s': no strategy '%s'"):format(name, q.strategy), 2)
    end
    q.name = name
    q.match = function(ctx, exten)
      local pbx = require "lunapbx"
      return (pbx.match(ctx, exten))
    end
    local qs = state.queue(name)
    local mok, err = pcall(sync_members, q, qs)
    if not mok then error(("queue '%s': %s"):format(name, err), 2) end
    CFG[name] = q
    return q
  end
end

local function get(name)
  local q = CFG[name]
  if not q then return nil, "no queue " .. tostring(name) end
  return q, state.queue(name)
end

--- queue.join(call, name [, opts]) -> status [, info]: Asterisk's
--- Queue(); see lunapbx.queue_caller.  opts: timeout, prio, max_penalty,
--- min_penalty, skills, ringing (the ringback tone instead of music),
--- announce (the agent's prompt, over the queue's).
function M.join(call, name, opts)
  local q = CFG[name]
  if not q then error(("queue.join: no queue '%s'"):format(tostring(name)), 2) end
  return caller.join(call, q, opts)
end

local function persist(q, m)
  if q.persistentmembers then store.save(q.name, m) end
end

--- queue.add(queue, member [, { penalty =, paused =, reason = }]):
--- a dynamic member (AddQueueMember); true, or nil and why.
function M.add(name, member, opts)
  local q, qs = get(name)
  if not q then return nil, qs end
  opts = opts or {}
  if type(member) ~= "string" or member == "" then return nil, "a member name is needed" end
  local m = qs.members[member]
  if m and m.dynamic then return nil, "already a member" end
  if m then
    m.dynamic = true
  else
    m = state.new_member(qs, member, { dynamic = true, penalty = opts.penalty,
                                       paused = opts.paused, reason = opts.reason })
  end
  persist(q, m)
  state.log(name, "NONE", member, "ADDMEMBER", "")
  state.kick(qs)
  return true
end

--- queue.remove(queue, member): a dynamic member leaves
--- (RemoveQueueMember); a static one cannot.  true, or nil and why.
function M.remove(name, member)
  local q, qs = get(name)
  if not q then return nil, qs end
  local m = qs.members[member]
  if not m then return nil, "not a member" end
  if not m.dynamic then return nil, "a static member (in the configuration)" end
  m.dynamic = false
  if not m.static then qs.members[member] = nil end
  if q.persistentmembers then
    if m.static then store.save(name, m) else store.forget(name, member) end
  end
  state.log(name, "NONE", member, "REMOVEMEMBER", "")
  return true
end

local function each_queue(name, fn)
  local n = 0
  for qname, q in pairs(CFG) do
    if not name or name == qname then
      local m = state.queue(qname).members
      n = n + (fn(q, state.queue(qname), m) or 0)
    end
  end
  return n
end

--- queue.pause(member [, { queue =, reason = }]): not rung until unpaused
--- (every queue it is in, or one); how many queues it was paused in.
function M.pause(member, opts)
  opts = opts or {}
  local n = each_queue(opts.queue, function(q, qs, members)
    local m = members[member]
    if not m then return 0 end
    state.pause(q, m, opts.reason)
    return 1
  end)
  if n == 0 then return nil, "not a member" end
  return n
end

--- queue.unpause(member [, { queue = }]): rung again.
function M.unpause(member, opts)
  opts = opts or {}
  local n = each_queue(opts.queue, function(q, qs, members)
    local m = members[member]
    if not m then return 0 end
    if m.paused then
      m.paused, m.reason = false, nil
      local a = state.agent(member)
      a.idle_since = math.max(a.idle_since or 0, core.now())
      persist(q, m)
      state.log(q.name, "NONE", member, "UNPAUSE", "")
    end
    state.kick(qs)
    return 1
  end)
  if n == 0 then return nil, "not a member" end
  return n
end

--- queue.is_member(queue, member), queue.is_paused(member [, queue])
function M.is_member(name, member)
  local q, qs = get(name)
  return q ~= nil and qs.members[member] ~= nil
end

function M.is_paused(member, name)
  local any = false
  each_queue(name, function(_, _, members)
    if members[member] and members[member].paused then any = true end
  end)
  return any
end

--- queue.names(): the queues of this configuration, sorted.
function M.names()
  local out = {}
  for name in pairs(CFG) do out[#out + 1] = name end
  table.sort(out)
  return out
end

--- queue.get(name): its settings (read them; change them with define).
function M.get(name) return CFG[name] end

--- queue.stats(name) -> live statistics (see README: Call center).
function M.stats(name)
  local q, qs = get(name)
  if not q then return nil, qs end
  caller.prune(qs)
  local now = core.now()
  local st = qs.stats
  local avail, states = state.available(q, qs, nil)
  local members = {}
  for _, mname in ipairs(state.names(qs)) do
    local m = qs.members[mname]
    local a = state.S.agents[mname] or {}
    members[#members + 1] = {
      name = mname, state = states[mname], paused = m.paused, reason = m.reason,
      penalty = m.penalty, calls = m.calls, last_call = a.last_call,
      dynamic = m.dynamic, static = m.static,
      wrapup_left = a.last_call and math.max(0, a.last_call + q.wrapuptime - now) or 0,
    }
  end
  local callers, longest = {}, 0
  for i, e in ipairs(qs.entries) do
    if not e.leg.hungup then
      local w = now - e.joined
      if w > longest then longest = w end
      callers[#callers + 1] = { position = i, caller = e.caller, caller_name = e.caller_name,
                                wait = w, prio = e.prio, ringing = e.ringing ~= nil }
    end
  end
  local talking = 0
  for _, s in pairs(states) do if s == "talking" then talking = talking + 1 end end
  return {
    name = name, strategy = type(q.strategy) == "string" and q.strategy or "custom",
    waiting = #callers, longest_wait = longest, calls = st.calls, answered = st.answered,
    abandoned = st.abandoned, timeouts = st.timeouts, exits = st.exits,
    completed = st.completed, talking = talking, available = #avail,
    holdtime = st.answered > 0 and st.holdtime / st.answered or 0,
    talktime = st.completed > 0 and st.talktime / st.completed or 0,
    max_hold = st.max_hold, servicelevel = q.servicelevel,
    service_level = st.answered > 0 and 100 * st.within_sl / st.answered or 100,
    service_level2 = (st.answered + st.abandoned) > 0
      and 100 * (st.within_sl + st.abandoned_within_sl) / (st.answered + st.abandoned) or 100,
    members = members, callers = callers,
  }
end

--- queue.log_rows{ queue =, event =, since =, limit = }: the queue log.
M.log_rows = store.read

--- queue.on(function(event, fields) ... end): every queue event (the
--- queue_log's, as they happen), e.g. for a wallboard.
function M.on(fn)
  if type(fn) ~= "function" then error("queue.on: a function is needed", 2) end
  state.hooks[#state.hooks + 1] = fn
end

---------------------------------------------------------------------------
-- Agents' feature codes (dialplan functions)

local function say(call, prompt)
  call:answer()
  call:play(prompt)
  call:hangup()
end

--- queue.agent_login(call, queue): the calling phone joins (or, already
--- a member, leaves) the queue: AddQueueMember/RemoveQueueMember.
function M.agent_login(call, name)
  local member = call.endpoint
  if not member or not CFG[name] then return call:hangup(404) end
  local qs = state.queue(name)
  local m = qs.members[member]
  if m and m.dynamic then
    M.remove(name, member)
    return say(call, "queue-agent-logout")
  end
  if m and m.static then return say(call, "queue-agent-login") end
  M.add(name, member)
  return say(call, "queue-agent-login")
end

--- queue.agent_pause(call [, queue]): the calling phone's pause toggles
--- (in every queue it is in, or one).
function M.agent_pause(call, name)
  local member = call.endpoint
  if not member then return call:hangup(404) end
  if M.is_paused(member, name) then
    if not M.unpause(member, { queue = name }) then return call:hangup(404) end
    return say(call, "queue-agent-unpaused")
  end
  if not M.pause(member, { queue = name, reason = "phone" }) then return call:hangup(404) end
  return say(call, "queue-agent-paused")
end

return M
