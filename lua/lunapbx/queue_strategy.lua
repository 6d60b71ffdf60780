-- lunapbx.queue_strategy: who a queue rings for a caller.  Each strategy is
-- a plain function; a queue's `strategy` is one of these names or your own
-- function of the same shape:
--
--   strategy(c) -> { member, ... }    the members to ring now, all at once
--
--   c.members   the members that may be rung now (idle, not paused, not in
--               wrapup, registered, the lowest penalty first: only that
--               tier), in the queue's order
--   c.all       every member of the queue (any state)
--   c.caller    the waiting caller: .caller (number), .caller_name, .prio,
--               .joined (pbx clock), .skills (Queue's opts.skills), .vars
--   c.queue     the queue's settings; c.state its live state (c.state.rr
--               is yours to keep between calls: the round-robin memory)
--   c.now       the PBX clock (seconds)
--   c.random    math.random, or a seeded one in tests
--
-- A member has .name (the endpoint), .penalty, .weight, .skills, .calls
-- (taken from this queue), .last_call (when its last call of any queue
-- ended, Asterisk's shared_lastcall), .idle_since (the later of that, its
-- login and its unpause), .order (when it joined the queue: 1, 2, ...)
-- and .listed (its place in the configuration's list).
--
-- Return an empty list to ring nobody this time (the caller waits on).

local M = {}

-- The first member of `list` after the one named `last` (by .order),
-- wrapping round: the round robins.
local function after(list, last, key)
  local best, first
  for _, m in ipairs(list) do
    local k = m[key]
    if not first or k < first[key] then first = m end
    if last and k > last and (not best or k < best[key]) then best = m end
  end
  return best or first
end

local function min_by(list, key)
  local best
  for _, m in ipairs(list) do
    if not best or key(m) < key(best) then best = m end
  end
  return best
end

--- ringall: every available member at once; the first to answer wins.
function M.ringall(c) return c.members end

--- linear: the first available member in the queue's order, every time.
function M.linear(c) return { min_by(c.members, function(m) return m.order end) } end

--- rrmemory: round robin, starting after the member rung last, in the
--- order members joined the queue.
function M.rrmemory(c)
  local m = after(c.members, c.state.rr, "order")
  if m then c.state.rr = m.order end
  return { m }
end

--- rrordered: the same rotation in the order the configuration lists the
--- members (dynamic members after them, by name), whatever order they
--- joined in: a reload or a restart keeps it.
function M.rrordered(c)
  local m = after(c.members, c.state.rro, "listed")
  if m then c.state.rro = m.listed end
  return { m }
end

--- leastrecent: the member whose last call ended longest ago (never: first).
function M.leastrecent(c)
  return { min_by(c.members, function(m) return (m.last_call or 0) * 1e6 + m.order end) }
end

--- fewestcalls: the member that took the fewest calls from this queue.
function M.fewestcalls(c)
  return { min_by(c.members, function(m) return m.calls * 1e6 + m.order end) }
end

--- random: any available member.
function M.random(c)
  local r = c.random or math.random
  return { c.members[r(#c.members)] }
end

--- wrandom: random, each member's chance in proportion to its weight
--- (member option weight, default 1).
function M.wrandom(c)
  local r = c.random or math.random
  local total = 0
  for _, m in ipairs(c.members) do total = total + (m.weight or 1) end
  local x = r() * total
  for _, m in ipairs(c.members) do
    x = x - (m.weight or 1)
    if x < 0 then return { m } end
  end
  return { c.members[#c.members] }
end

--- longest-idle (FreeSWITCH's longest-idle-agent): the member idle the
--- longest: since its last call, its login or its unpause.
M["longest-idle"] = function(c)
  return { min_by(c.members, function(m) return (m.idle_since or 0) * 1e6 + m.order end) }
end

--- skills: members having every skill the caller asks (Queue's
--- opts.skills = { english = 2 }: at least level 2), the most skilled
--- (sum of those levels) first, then the longest idle.
function M.skills(c)
  local want = c.caller.skills or {}
  local fit = {}
  for _, m in ipairs(c.members) do
    local score, ok = 0, true
    for skill, level in pairs(want) do
      local have = (m.skills or {})[skill] or 0
      if have < level then ok = false break end
      score = score + have
    end
    if ok then fit[#fit + 1] = { m = m, score = score } end
  end
  table.sort(fit, function(a, b)
    if a.score ~= b.score then return a.score > b.score end
    local ia, ib = a.m.idle_since or 0, b.m.idle_since or 0
    if ia ~= ib then return ia < ib end
    return a.m.order < b.m.order
  end)
  return { fit[1] and fit[1].m }
end

return M
