-- lunapbx.queue_state: the queues' live state, shared by the callers'
-- scripts, the console and the dialplan, kept across reloads.
--
-- A member's state is read from facts, never from counters a script must
-- remember to put back: "ringing" while the dial handle that rings it is
-- not over, "talking" while the agent's leg of a queue call is up,
-- "inuse" while its endpoint has any other leg, "wrapup" until its
-- wrapup time is over, "unavailable" without a registered contact.  A
-- script that fails, a caller that hangs up while agents ring, an agent
-- that rejects or transfers: once the dial or the leg is over, the member
-- is free again, whoever forgets to say so.

local core = _core
local store = require "lunapbx.queue_store"

local M = {}

-- pbx.shared(name) where the core has it; else a table on _core, which
-- lives as long as the Lua state (every generation).
local function shared(name)
  if core.shared then return core.shared(name) end
  core._shared_tables = core._shared_tables or {}
  local t = core._shared_tables[name]
  if not t then t = {} core._shared_tables[name] = t end
  return t
end

local S = shared("queues")
S.queues = S.queues or {}        -- name -> live state of a queue
S.agents = S.agents or {}        -- endpoint -> { last_call, idle_since }
S.seq = S.seq or 0
M.S = S
M.CFG = {}                       -- this generation's settings, by queue name
M.hooks = {}                     -- this generation's queue.on(fn)

function M.now() return core.now() end

--- The agent record of an endpoint (across queues: shared_lastcall).
function M.agent(name)
  local a = S.agents[name]
  if not a then
    a = { name = name, idle_since = core.now() }
    S.agents[name] = a
  end
  return a
end

--- The live state of a queue, made on first use.
function M.queue(name)
  local qs = S.queues[name]
  if not qs then
    qs = { name = name, members = {}, entries = {}, seq = 0, loaded = false,
           stats = { calls = 0, answered = 0, abandoned = 0, timeouts = 0, exits = 0,
                     completed = 0, within_sl = 0, abandoned_within_sl = 0,
                     holdtime = 0, talktime = 0, max_hold = 0 } }
    S.queues[name] = qs
  end
  return qs
end

--- Tell whoever listens (queue.on, pbx.emit when the PBX has it).
function M.emit(event, fields)
  for _, fn in ipairs(M.hooks) do
    local ok, err = pcall(fn, event, fields)
    if not ok then core.log("warn", "queue.on handler: " .. tostring(err)) end
  end
  -- to the WebSocket clients and pbx.on handlers (when the PBX has them):
  -- queue.enterqueue, queue.connect, ...
  if core.emit then
    local ok, err = pcall(core.emit, "queue." .. event:lower(), {
      queue = fields.queue, type = event, agent = fields.agent,
      callid = fields.callid and tostring(fields.callid), data = fields.data })
    if not ok then core.log("warn", "queue events: " .. tostring(err)) end
  end
end

--- A queue_log row, and the same event to listeners.
function M.log(qname, callid, agent, event, ...)
  store.log(os.time(), callid, qname, agent, event, ...)
  M.emit(event, { queue = qname, callid = callid, agent = agent, data = { ... } })
end

-- Presence (contacts, legs) of a queue's members, read once per loop turn
-- (the PBX clock moves by milliseconds: 20 ms of staleness at most).
local function presence(qs)
  local now = core.now()
  if qs.pres and now - qs.pres_at < 0.02 then return qs.pres end
  local names = {}
  for name in pairs(qs.members) do names[#names + 1] = name end
  qs.pres, qs.pres_at = core.endpoint_presence(names), now
  return qs.pres
end
M.presence = presence

-- A member that talked and whose leg is gone: its call is over.  Done
-- once, by whoever sees it first (the caller's script, or anyone reading
-- the state if that script is gone).
function M.finish(qs, m, leg, who)
  if not m.leg or m.leg ~= leg then return false end
  local q = M.CFG[qs.name] or {}
  local now = core.now()
  m.leg = nil
  m.calls = m.calls + 1
  local a = M.agent(m.name)
  a.last_call, a.idle_since = now, now
  local e = m.entry
  m.entry = nil
  local st = qs.stats
  st.completed = st.completed + 1
  if e then
    local talk = now - (e.connected or now)
    st.talktime = st.talktime + talk
    if who == "transfer" then    -- Asterisk's: extension, context, hold, talk, position
      M.log(qs.name, e.id, m.name, "TRANSFER", "", "", math.floor(e.hold + 0.5),
            math.floor(talk + 0.5), e.origpos)
    else
      M.log(qs.name, e.id, m.name, who == "agent" and "COMPLETEAGENT" or "COMPLETECALLER",
            math.floor(e.hold + 0.5), math.floor(talk + 0.5), e.origpos)
    end
  end
  M.kick_member(m.name)
  return true
end

--- The state of a member now: "ringing", "talking", "paused", "wrapup",
--- "unavailable", "inuse" or "idle".
function M.member_state(qs, m, pres)
  if m.dial then
    if m.dial.status == nil then return "ringing" end
    m.dial = nil
  end
  if m.leg then
    if not m.leg.hungup then return "talking" end
    M.finish(qs, m, m.leg, "agent")
  end
  -- answered, hearing the queue's announce before the caller is put through
  if m.announcing then
    if not m.announcing.hungup then return "talking" end
    m.announcing = nil
  end
  if m.paused then return "paused" end
  -- this queue's wrapup after the agent's last call of any queue
  -- (Asterisk's shared_lastcall)
  local a = S.agents[m.name]
  local q = M.CFG[qs.name]
  if a and a.last_call and q and core.now() < a.last_call + q.wrapuptime then
    return "wrapup"
  end
  local p = (pres or presence(qs))[m.name]
  if p and p.contacts == 0 then return "unavailable" end
  if p and p.legs > 0 then return "inuse" end
  return "idle"
end

-- The members of a queue free to be rung (weights aside).
local function free_count(q, qs)
  local pres, n = presence(qs), 0
  for _, m in pairs(qs.members) do
    local st = M.member_state(qs, m, pres)
    if st == "idle" or (st == "inuse" and q.ringinuse) then n = n + 1 end
  end
  return n
end

-- Held for a queue of more weight (Asterisk's compare_weight): a member
-- of both is kept for the heavier one while its callers waiting for a
-- member (not ringing one already) are at least as many as its free
-- members.
local function held_elsewhere(q, qs, name)
  for oname, other in pairs(S.queues) do
    local oq = M.CFG[oname]
    if other ~= qs and oq and (oq.weight or 0) > (q.weight or 0) and other.members[name] then
      local waiting = 0
      for _, e in ipairs(other.entries) do
        if not e.ringing and not e.leg.hungup then waiting = waiting + 1 end
      end
      if waiting > 0 and waiting >= free_count(oq, other) then return true end
    end
  end
  return false
end

--- A caller left qs: the queues sharing members with it look again (a
--- member held for qs's weight may be theirs now).
function M.kick_shared(qs)
  for _, other in pairs(S.queues) do
    if other ~= qs and #other.entries > 0 then
      for name in pairs(qs.members) do
        if other.members[name] then M.kick(other) break end
      end
    end
  end
end

--- The members that may be rung now, the lowest penalty tier, in the
--- queue's order; and the states of all (name -> state).
function M.available(q, qs, max_penalty, min_penalty)
  local pres = presence(qs)
  local list, states, best = {}, {}, nil
  for name, m in pairs(qs.members) do
    local st = M.member_state(qs, m, pres)
    states[name] = st
    if (st == "idle" or (st == "inuse" and q.ringinuse))
        and (not max_penalty or m.penalty <= max_penalty)
        and (not min_penalty or m.penalty >= min_penalty)
        and not held_elsewhere(q, qs, name) then
      list[#list + 1] = m
      if not best or m.penalty < best then best = m.penalty end
    end
  end
  local tier = {}
  for _, m in ipairs(list) do
    if m.penalty == best then tier[#tier + 1] = m end
  end
  table.sort(tier, function(a, b) return a.order < b.order end)
  return tier, states
end

-- Asterisk's empty conditions: which member states count as "not there"
-- for joinempty and leavewhenempty.
local LEGACY = {
  yes = {}, no = { penalty = true, paused = true, invalid = true },
  strict = { penalty = true, paused = true, invalid = true, unavailable = true },
  loose = { penalty = true, invalid = true },
}
local STATE_COND = { paused = "paused", talking = "inuse", inuse = "inuse",
                     ringing = "ringing", unavailable = "unavailable", wrapup = "wrapup" }

--- (app_queue's parse_empty_options: "no" for joinempty and "yes" for
--- leavewhenempty name the same conditions; "yes" to join, "no" to leave:
--- none.)
function M.conditions(v, leaving)
  if v == true then v = "yes" elseif v == false then v = "no" end
  if leaving and (v == "yes" or v == "no") then v = v == "yes" and "no" or "yes" end
  if LEGACY[v] then return LEGACY[v] end
  local set = {}
  for word in tostring(v):gmatch("[^,%s]+") do set[word] = true end
  return set
end

--- Is the queue "empty" under these conditions?  nil when someone is
--- there; else "EMPTY" (nobody, or everyone excluded) or "UNAVAIL"
--- (members there, all of them unregistered).
function M.empty(q, qs, conds, max_penalty, min_penalty)
  if next(conds) == nil then return nil end
  local pres = presence(qs)
  local n, unavail = 0, 0
  for _, m in pairs(qs.members) do       -- the first member there ends it
    n = n + 1
    local st = M.member_state(qs, m, pres)
    local c = STATE_COND[st]
    local out = (c and conds[c]) or (conds.penalty and ((max_penalty and m.penalty > max_penalty)
                                      or (min_penalty and m.penalty < min_penalty)))
    if not out then return nil end
    if st == "unavailable" then unavail = unavail + 1 end
  end
  if n > 0 and unavail == n then return "UNAVAIL" end
  return "EMPTY"
end

function M.names(qs)
  local out = {}
  for name in pairs(qs.members) do out[#out + 1] = name end
  table.sort(out)
  return out
end

--- Wake the waiting callers that may take a member now (their scripts
--- look again): `n` of them (default 1: one member became free), the
--- first in line that are not ringing anyone.  One that cannot take it
--- passes the word on (queue_caller).
function M.kick(qs, n)
  n = n or 1
  for _, e in ipairs(qs.entries) do
    if n <= 0 then break end
    if not e.ringing then
      e.sig:notify("member")
      n = n - 1
    end
  end
end

--- Wake the first caller behind e that is not ringing (e passes on a
--- member it cannot take).
function M.kick_after(qs, e)
  local seen = false
  for _, x in ipairs(qs.entries) do
    if seen and not x.ringing then x.sig:notify("member") return end
    if x == e then seen = true end
  end
end

--- An agent became free: every queue it is in looks again (with its
--- presence read afresh: the leg that just ended no longer counts).
function M.kick_member(name)
  for _, qs in pairs(S.queues) do
    if qs.members[name] then
      qs.pres = nil
      M.kick(qs)
    end
  end
end

--- Pause member m of queue q (persisted with persistentmembers, in the
--- queue log with its reason).
function M.pause(q, m, reason)
  m.paused, m.reason = true, reason
  if q.persistentmembers then store.save(q.name, m) end
  M.log(q.name, "NONE", m.name, "PAUSE", reason or "")
end

--- A new member record.
function M.new_member(qs, name, t)
  qs.seq = qs.seq + 1
  local a = M.agent(name)
  local m = { name = name, penalty = t.penalty or 0, weight = t.weight or 1,
              skills = t.skills or {}, calls = 0, order = qs.seq,
              listed = t.listed or (1e6 + qs.seq), paused = t.paused or false,
              reason = t.reason, dynamic = t.dynamic or false, static = t.static or false,
              added = core.now() }
  a.idle_since = math.max(a.idle_since or 0, m.added)
  setmetatable(m, { __index = function(_, k)
    if k == "last_call" or k == "idle_since" then return S.agents[name] and S.agents[name][k] end
  end })
  qs.members[name] = m
  return m
end

return M
