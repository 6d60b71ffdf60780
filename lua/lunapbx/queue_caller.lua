-- lunapbx.queue_caller: what Queue() does for one caller, in the caller's
-- own script: join (or not), wait with music, ring members as the
-- strategy says when it is this caller's turn, talk, leave.  Returns
-- Asterisk's QUEUESTATUS, "CONTINUE" after a conversation the caller is
-- still there for, or "hangup" once the caller is gone.

local core = _core
local state = require "lunapbx.queue_state"
local strategies = require "lunapbx.queue_strategy"
local announce = require "lunapbx.queue_announce"

local M = {}

local function remove_entry(qs, e)
  for i, x in ipairs(qs.entries) do
    if x == e then table.remove(qs.entries, i) break end
  end
  e.gone = true
  state.kick(qs)            -- the others move up
  state.kick_shared(qs)     -- a member held for this queue's weight is free
end

local function position(qs, e)
  for i, x in ipairs(qs.entries) do
    if x == e then return i end
  end
  return 0
end

-- Callers ahead of e that still wait for a member (not ringing one, not
-- between two tries).
local function waiting_ahead(qs, e, now)
  local n = 0
  for _, x in ipairs(qs.entries) do
    if x == e then break end
    if not x.ringing and not (x.retry_at and now < x.retry_at) and not x.leg.hungup then
      n = n + 1
    end
  end
  return n
end

-- Entries whose script is gone (a dialplan error) leave the line: their
-- call no longer exists to be woken.
local function prune(qs)
  local now = core.now()
  if qs.pruned_at and now - qs.pruned_at < 1 then return end
  qs.pruned_at = now
  for i = #qs.entries, 1, -1 do
    local x = qs.entries[i]
    if x.leg.hungup and not x.sig:notify("check") then
      table.remove(qs.entries, i)
      x.gone = true
      qs.stats.abandoned = qs.stats.abandoned + 1
      state.log(qs.name, x.id, "NONE", "ABANDON", i, x.origpos, 0)
    end
  end
end
M.prune = prune

local function strategy_of(q)
  local s = q.strategy
  if type(s) == "function" then return s end
  return strategies[s] or error(("queue %s: no strategy '%s'"):format(q.name, tostring(s)))
end

-- One pass rings each member once (Asterisk): the ones tried in this
-- pass wait for the next, which starts `retry` seconds after the last.
-- The members not tried yet, or nil when there are none.
local function fresh_of(e, avail)
  local fresh = {}
  for _, m in ipairs(avail) do
    if not e.tried[m.name] then fresh[#fresh + 1] = m end
  end
  return #fresh > 0 and fresh or nil
end

-- The members to ring for e now, or nil.
local function pick(q, qs, e, now)
  if e.retry_at and now < e.retry_at then return nil end
  prune(qs)
  local avail = state.available(q, qs, e.max_penalty, e.min_penalty)
  if #avail == 0 then return nil end
  local ahead = waiting_ahead(qs, e, now)
  if ahead > 0 and (not q.autofill or ahead >= #avail) then return nil end
  avail = fresh_of(e, avail)
  if not avail then
    state.kick_after(qs, e)      -- a free member this caller will not take now
    e.tried = {}
    e.retry_at = now + q.retry
    return nil
  end
  local all = {}
  for _, m in pairs(qs.members) do all[#all + 1] = m end
  local picks = strategy_of(q)({ members = avail, all = all, caller = e, queue = q,
                                 state = qs, now = now, random = q.random })
  local out = {}
  for _, m in ipairs(picks or {}) do
    if m and qs.members[m.name] == m then out[#out + 1] = m end
  end
  return #out > 0 and out or nil
end

-- An exit key (q.exits[key] or an extension of q.context), or nil.
local function exit_for(q, key)
  if q.exits and q.exits[key] ~= nil then return q.exits[key] end
  if q.context and q.match then
    local fn = q.match(q.context, key)
    if fn then return fn end
  end
end

-- The exit: a function(call, key), or an extension (of q.context, else
-- the caller's context) run in this call.
local function run_exit(call, q, key)
  local x = exit_for(q, key)
  if type(x) == "string" and q.match then
    local fn = q.match(q.context or call.context, x)
    if fn then return fn(call, x) end
  elseif type(x) == "function" then
    return x(call, key)
  end
end

-- Does this ending of a ring pause its members (autopause: a member
-- that does not answer; one that is busy with autopausebusy, unreachable
-- with autopauseunavail)?
local function autopauses(q, status)
  if q.autopause == "no" then return false end
  if status == "BUSY" then return q.autopausebusy end
  if status == "CHANUNAVAIL" or status == "CONGESTION" then return q.autopauseunavail end
  return status == "NOANSWER"
end

-- Asterisk's reason "Auto-Pause": in this queue, or (autopause = "all")
-- in every queue the member is in.
local function autopause(q, m)
  core.log("info", ("queue %s: %s did not answer: paused (autopause %s)"):format(
           q.name, m.name, q.autopause))
  if q.autopause ~= "all" then
    if not m.paused then state.pause(q, m, "Auto-Pause") end
    return
  end
  for qname, other in pairs(state.S.queues) do
    local om, oq = other.members[m.name], state.CFG[qname]
    if om and oq and not om.paused then state.pause(oq, om, "Auto-Pause") end
  end
end

-- Ring the picked members; while they ring the caller keeps its music.
-- -> "answer", member, leg | "failed" | "hangup" | "key", key | "timeout"
local function ring(call, q, qs, e, picks, deadline)
  local names = {}
  for i, m in ipairs(picks) do names[i] = m.name end
  local now = core.now()
  local secs = q.timeout
  if deadline then secs = math.min(secs, deadline - now) end
  if secs <= 0 then return "timeout" end
  local ok, d = pcall(core.dial, #names == 1 and names[1] or names,
                      { timeout = secs, caller_name = e.caller_name, caller_num = e.caller })
  if not ok then
    core.log("warn", ("queue %s: cannot ring %s: %s"):format(q.name,
             table.concat(names, ", "), tostring(d)))
    return "failed"
  end
  for _, m in ipairs(picks) do m.dial, e.tried[m.name] = d, true end
  e.ringing, e.rang_at = d, now
  local result, x
  while true do
    local who, what, arg = core.wait(d, e.leg, e.sig)
    if who == d then break end
    if who == e.leg and (what == "hangup" or what == "taken") then result = what break end
    if who == e.leg and what == "digit" and exit_for(q, arg) ~= nil then
      result, x = "key", arg
      break
    end
  end
  e.ringing = nil
  qs.pres = nil               -- the dial's legs are over: read presence afresh
  if result then
    d:cancel()
    for _, m in ipairs(picks) do
      if m.dial == d then m.dial = nil end
      state.log(qs.name, e.id, m.name, "RINGCANCELED", math.floor((core.now() - now) * 1000))
    end
    state.kick(qs, #picks)
    return result, x
  end
  for _, m in ipairs(picks) do
    if m.dial == d then m.dial = nil end
  end
  if d.status == "ANSWER" and d.leg then
    local leg = d.leg
    for _, m in ipairs(picks) do
      if m.name == leg.endpoint then return "answer", m, leg end
    end
    -- someone else took the ringing call (a pickup): a member for this
    -- call only, in no queue's list
    return "answer", state.new_member({ members = {}, seq = 0 }, leg.endpoint or "pickup", {}), leg
  end
  local ms = math.floor((core.now() - now) * 1000)
  local pause = autopauses(q, d.status)
  for _, m in ipairs(picks) do
    state.log(qs.name, e.id, m.name, "RINGNOANSWER", ms)
    if pause then autopause(q, m) end
  end
  state.kick(qs, #picks + 1)   -- this caller goes on; the others may take them
  return "failed"
end

-- The caller and the agent talk until one hangs up; transfers (keys,
-- REFER) go through the generation's transfer flows.
local function converse(call, q, qs, e, m, leg)
  local ckeys, akeys
  if q.options and q.options ~= "" and call._dial_keys then
    ckeys, akeys = call._dial_keys(q.options)
  end
  local br = core.bridge()
  br:add(e.leg, ckeys)
  br:add(leg, akeys)
  local keys = { [e.leg] = ckeys, [leg] = akeys }
  local who = "agent"
  while true do
    local ev, l, feature = br:wait()
    if ev == "hangup" then
      if who ~= "transfer" then who = l == e.leg and "caller" or "agent" end
      if l == e.leg or who == "transfer" then
        br:hangup()                   -- the caller left: the agent's side ends
      elseif not e.leg.hungup then
        br:remove(e.leg)              -- the agent left: the dialplan goes on
        br:hangup()                   --   with the caller (CONTINUE)
      end
      break
    elseif (ev == "feature" or ev == "refer") and call._bridge_event then
      local nb = call:_bridge_event(br, ev, l, feature, keys)
      if nb then br = nb end
      -- the caller handed on to another call (a blind transfer, a REFER)
      if not e.leg.hungup and e.leg.bridge ~= br then who = "transfer" end
    elseif ev == nil or ev == "left" then
      if e.leg.hungup and who ~= "transfer" then who = "caller" end
      break
    end
    if who == "transfer" and (br.count or 0) == 0 then break end
  end
  -- the agent's leg ends with the conversation (a transfer hands the
  -- caller on; the agent's side is over either way)
  if not leg.hungup and leg.bridge == nil then leg:hangup() end
  state.finish(qs, m, leg, who)
  return who
end

-- How long to sleep before looking again.
local function next_wake(q, qs, e, now, deadline)
  local t = now + 10
  local function at(x) if x and x > now and x < t then t = x end end
  at(deadline)
  at(e.retry_at)
  at(announce.next_due(q, e, position(qs, e)))
  for name, m in pairs(qs.members) do
    local a = state.S.agents[name]
    at(a and a.last_call and a.last_call + q.wrapuptime)
    -- states that end without an event we hear of: look every second
    local p = qs.pres and qs.pres[name]
    if p and not m.dial and not m.leg and not m.paused then
      if p.contacts == 0 then at(now + 3)
      elseif p.legs > 0 and not q.ringinuse then at(now + 1) end
    end
  end
  return math.max(t - now, 0.01)
end

-- The queue's announce (or Queue()'s) to the agent who answered, before
-- the two are put through; the caller keeps its music meanwhile.
-- "ok", "hangup" (the caller left) or "dump" (the agent hung up).
local function announce_agent(e, m, leg, prompt)
  m.announcing, e.ringing = leg, leg
  leg:play(prompt)
  m.announcing, e.ringing = nil, nil
  if e.leg.hungup then return "hangup" end
  if leg.hungup then return "dump" end
  return "ok"
end

-- Asterisk's data: position, original position, wait; EXITWITHKEY has
-- the key first.
local function leave(qs, e, event, now, key)
  local pos = position(qs, e)
  local wait = math.floor(now - e.joined + 0.5)
  remove_entry(qs, e)
  if key then
    state.log(qs.name, e.id, "NONE", event, key, pos, e.origpos, wait)
  else
    state.log(qs.name, e.id, "NONE", event, pos, e.origpos, wait)
  end
  return pos
end

--- Queue(): see the module's head.  opts: timeout (s, the whole wait),
--- prio, max_penalty, min_penalty, skills, announce (a prompt for the
--- agent who answers, over the queue's), ringing (the ringback tone
--- instead of music, Queue()'s option r), caller/caller_name (as shown
--- to agents).
function M.join(call, q, opts)
  opts = opts or {}
  local qs = state.queue(q.name)
  local st = qs.stats
  local now = core.now()
  local e = { id = call.id, leg = call.leg, joined = now, prio = opts.prio or 0,
              caller = opts.caller or call.caller, caller_name = opts.caller_name
                or call.caller_name, max_penalty = opts.max_penalty,
              min_penalty = opts.min_penalty,
              skills = opts.skills, vars = call.vars, tried = {} }
  if q.maxlen > 0 and #qs.entries >= q.maxlen then
    state.log(q.name, e.id, "NONE", "FULL")
    return "FULL"
  end
  local empty = state.empty(q, qs, state.conditions(q.joinempty), e.max_penalty, e.min_penalty)
  if empty then
    state.log(q.name, e.id, "NONE", "JOINEMPTY")
    return "JOIN" .. empty
  end
  if e.leg.hungup then return "hangup" end
  call:answer()
  if opts.ringing then e.ringback = call:tone_spec("ring") end
  announce.hold(call, q, e)
  e.sig = core.signal()
  -- priority callers go before the others, in order of arrival
  local at = #qs.entries + 1
  for i, x in ipairs(qs.entries) do
    if x.prio < e.prio then at = i break end
  end
  table.insert(qs.entries, at, e)
  e.origpos = at
  st.calls = st.calls + 1
  state.log(q.name, e.id, "NONE", "ENTERQUEUE", "", e.caller or "")
  announce.start(q, e, now)
  local to_agent = opts.announce or q.announce
  local deadline = opts.timeout and (now + opts.timeout) or nil
  local leave_conds = state.conditions(q.leavewhenempty, true)

  while true do
    now = core.now()
    if e.leg.hungup then
      leave(qs, e, "ABANDON", now)
      st.abandoned = st.abandoned + 1
      if now - e.joined <= q.servicelevel then st.abandoned_within_sl = st.abandoned_within_sl + 1 end
      return "hangup"
    end
    if deadline and now >= deadline then
      leave(qs, e, "EXITWITHTIMEOUT", now)
      st.timeouts = st.timeouts + 1
      return "TIMEOUT"
    end
    local gone = state.empty(q, qs, leave_conds, e.max_penalty, e.min_penalty)
    if gone then
      leave(qs, e, "EXITEMPTY", now)
      st.exits = st.exits + 1
      return "LEAVE" .. gone
    end
    local picks = pick(q, qs, e, now)
    local again = false
    if picks then
      local r, m, leg = ring(call, q, qs, e, picks, deadline)
      if r == "answer" and to_agent then
        local how = announce_agent(e, m, leg, to_agent)
        if how ~= "ok" then
          if not leg.hungup then leg:hangup() end
          state.log(q.name, e.id, m.name, how == "dump" and "AGENTDUMP" or "RINGCANCELED", 0)
          state.kick(qs)
          r = how == "hangup" and "hangup" or "failed"
        end
      end
      now = core.now()
      if r == "answer" then
        local pos = position(qs, e)
        e.hold = now - e.joined
        e.connected = now
        remove_entry(qs, e)
        m.leg, m.entry = leg, e
        st.answered = st.answered + 1
        st.holdtime = st.holdtime + e.hold
        if e.hold > st.max_hold then st.max_hold = e.hold end
        if e.hold <= q.servicelevel then st.within_sl = st.within_sl + 1 end
        state.log(q.name, e.id, m.name, "CONNECT", math.floor(e.hold + 0.5), leg.id,
                  math.floor((now - (e.rang_at or now)) + 0.5))
        core.log("info", ("queue %s: %s answers %s after %.1f s (position %d)"):format(
                 q.name, m.name, tostring(e.caller), e.hold, pos))
        local who = converse(call, q, qs, e, m, leg)
        if who == "transfer" then return "TRANSFER", { agent = m.name, hold = e.hold } end
        if who == "caller" or e.leg.hungup then return "hangup", { agent = m.name, hold = e.hold } end
        return "CONTINUE", { agent = m.name, hold = e.hold }
      elseif r == "hangup" or r == "taken" then
        leave(qs, e, "ABANDON", now)
        st.abandoned = st.abandoned + 1
        return r
      elseif r == "key" then
        leave(qs, e, "EXITWITHKEY", now, m)
        st.exits = st.exits + 1
        run_exit(call, q, m)
        return "EXITWITHKEY", m
      end
      -- "failed": the pass goes on at once with the members not tried
      -- yet; "timeout": the deadline, looked at on the next turn
      again = true
    end
    if not again then
      announce.run(call, q, qs, e, position(qs, e), core.now())
      local who, what, key = core.wait(e.leg, e.sig, next_wake(q, qs, e, core.now(), deadline))
      if who == e.leg and what == "taken" then
        leave(qs, e, "ABANDON", core.now())
        st.abandoned = st.abandoned + 1
        return "taken"
      end
      if who == e.leg and what == "digit" and exit_for(q, key) ~= nil then
        leave(qs, e, "EXITWITHKEY", core.now(), key)
        st.exits = st.exits + 1
        run_exit(call, q, key)
        return "EXITWITHKEY", key
      end
    end
  end
end

return M
