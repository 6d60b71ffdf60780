-- lunapbx.queue_announce: what a waiting caller hears between the music
-- (app_queue's say_position and say_periodic_announcement), and the
-- music itself (or the ringback tone, Queue()'s option r).
--
-- Position and hold time (announce_frequency > 0): once on joining (the
-- position "changed" from none), then every announce_frequency seconds,
-- sooner when the position changed but never less than
-- min_announce_frequency seconds after the start of the last one.  The
-- periodic announcement (periodic_announce: a prompt, or a list played
-- in turn or, with random_periodic_announce, at random) every
-- periodic_announce_frequency seconds from joining, counted from the
-- start of the last one (from its end with relative_periodic_announce).
-- Neither plays while members ring for the caller (Asterisk's
-- announce-to-first-user = no): the caller's script is in the ring then.

local core = _core

local M = {}

--- The caller's own clocks, set on joining.
function M.start(q, e, now)
  if q.announce_frequency > 0 then e.next_announce = now end
  local p = q.periodic_announce
  if p and q.periodic_announce_frequency > 0 then
    e.periodic = type(p) == "table" and p or { p }
    e.periodic_n = 0
    e.next_periodic = now + q.periodic_announce_frequency
  end
end

--- When the position is due next (pbx clock), given the caller's
--- position now; nil when it never is.
function M.position_due(q, e, pos)
  if not e.next_announce then return nil end
  if not e.pos_said then return e.next_announce end
  local floor = e.pos_at + q.min_announce_frequency
  -- the position changed: as soon as min_announce_frequency allows
  if pos ~= e.pos_said then return floor end
  return math.max(e.next_announce, floor)
end

--- What the hold time announcement says: the prompts, or nil (Asterisk:
--- the average hold time less what this caller waited, in minutes).
function M.holdtime_prompts(q, st, waited, first)
  local h = q.announce_holdtime
  if not h or h == "no" or (h == "once" and not first) then return nil end
  if st.answered == 0 then return nil end
  local left = st.holdtime / st.answered - waited
  if left <= 0 then return nil end
  local mins = math.floor((left + 30) / 60)
  if mins < 1 then return { q.queue_holdtime, q.queue_lessthan }, 1, q.queue_minute end
  return { q.queue_holdtime }, mins, mins == 1 and q.queue_minute or q.queue_minutes
end

-- The position: "you are next", "you are caller number N" (Asterisk's
-- queue-thereare N queue-callswaiting), or with "more" past the limit
-- "there are more than LIMIT callers waiting"; nothing with false or
-- "limit" past the limit.
local function say_position(call, q, pos)
  local how = q.announce_position
  if how == false or how == "no" then return false end
  local limit = q.announce_position_limit
  if how == "limit" and pos > limit then return false end
  if pos == 1 then
    call:play(q.queue_youarenext)
  elseif how == "more" and pos > limit then
    call:play(q.queue_quantity1)
    call:say_number(limit)
    call:play(q.queue_quantity2)
  else
    call:play(q.queue_thereare)
    call:say_number(pos)
    if q.queue_callswaiting then call:play(q.queue_callswaiting) end
  end
  return true
end

--- The position and hold time, now.
local function announce_position(call, q, qs, e, pos, now)
  local first = e.pos_said == nil
  e.pos_at, e.pos_said = now, pos
  e.next_announce = now + q.announce_frequency
  local said = say_position(call, q, pos)
  local prompts, n, unit = M.holdtime_prompts(q, qs.stats, now - e.joined, first)
  if prompts then
    call:play(prompts)
    call:say_number(n)
    call:play(unit)
    said = true
  end
  if said and not e.leg.hungup then call:play(q.queue_thankyou) end
end

local function announce_periodic(call, q, e, now)
  local list = e.periodic
  local i
  if q.random_periodic_announce then
    i = math.random(#list)
  else
    i = e.periodic_n % #list + 1
    e.periodic_n = e.periodic_n + 1
  end
  call:play(list[i])
  local from = q.relative_periodic_announce and core.now() or now
  e.next_periodic = from + q.periodic_announce_frequency
end

--- The caller's music, or the ringback tone (opts.ringing): again after
--- each announcement (an operation stops the background).
function M.hold(call, q, e)
  if e.leg.hungup then return end
  if e.ringback then
    e.leg:start_tones(e.ringback)
  else
    e.leg:start_moh(q.musicclass)
  end
end

--- Whatever is due now; the music (or ringing) again after it.
function M.run(call, q, qs, e, pos, now)
  local played = false
  local due = M.position_due(q, e, pos)
  if due and now >= due then
    announce_position(call, q, qs, e, pos, now)
    played = true
  end
  if e.next_periodic and not e.leg.hungup and core.now() >= e.next_periodic then
    announce_periodic(call, q, e, core.now())
    played = true
  end
  if played then M.hold(call, q, e) end
end

--- The next time something is due (for the caller's sleep), or nil.
function M.next_due(q, e, pos)
  local a, b = M.position_due(q, e, pos), e.next_periodic
  if a and b then return math.min(a, b) end
  return a or b
end

return M
