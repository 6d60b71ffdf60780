-- lunapbx.api: the commands of the HTTP/WebSocket API written in Lua
-- (core/http/api.c does originate, hangup, transfer and reload in C).
--
-- A command on a leg that must wait for something (a prompt to play, a
-- recording, a bridge's end) takes the leg out of what it does, as
-- Asterisk's Redirect does, into a call of its own in the context
-- "lunapbx-api", whose script does the job:
--
--   play   { leg = id, sound = "name" | { ... } [, exten =, context = ] }
--   record { leg = id, file = "name" [, max_seconds =, beep =, exten =, context = ] }
--   bridge { leg = id, with = id }
--
-- then goes on to exten@context when given, else hangs up (bridge: when
-- one side hangs up, the other does).  park { leg = id [, lot =] } parks
-- it in a lot of lunapbx.parking; queue_add, queue_remove, queue_pause go
-- to lunapbx.queue.  pbx.command replaces any of them.

local core = _core

local M = { CONTEXT = "lunapbx-api" }

local function id_of(v)
  local n = math.tointeger(tonumber(v))
  return n and n > 0 and n or nil
end

function M.new(log)
  local jobs, seq = {}, 0
  local api = { commands = {} }
  local C = api.commands

  -- the leg leaves what it does: its job runs in a call of its own
  local function start(args, job)
    local id = id_of(args.leg)
    if not id then return nil, '"leg": a leg id is needed' end
    if not core.leg(id) then return nil, "no such leg" end
    if args.exten ~= nil and type(args.exten) ~= "string" then
      return nil, '"exten": a string'
    end
    job.exten, job.context = args.exten, args.context
    seq = seq + 1
    local key = tostring(seq)
    jobs[key] = job
    local ok, why = core.leg_redirect(id, key, M.CONTEXT)
    if not ok then
      jobs[key] = nil
      return nil, why
    end
    return { leg = id }
  end

  function C.play(args)
    local s = args.sound or args.sounds
    if type(s) == "string" then s = { s } end
    if type(s) ~= "table" or #s == 0 then return nil, '"sound": a sound name or a list' end
    for _, v in ipairs(s) do
      if type(v) ~= "string" then return nil, '"sound": names (strings)' end
    end
    return start(args, { op = "play", sounds = s })
  end

  function C.record(args)
    if type(args.file) ~= "string" or args.file == "" then return nil, '"file": a name' end
    local max = args.max_seconds
    if max ~= nil and (type(max) ~= "number" or max <= 0) then
      return nil, '"max_seconds": seconds'
    end
    return start(args, { op = "record", file = args.file, max = max or 60, beep = args.beep })
  end

  function C.bridge(args)
    local with = id_of(args.with)
    if not with or not core.leg(with) then return nil, '"with": no such leg' end
    if with == id_of(args.leg) then return nil, "a leg is not bridged with itself" end
    return start(args, { op = "bridge", with = with })
  end

  -- park { leg = id [, lot = "default", parker = endpoint, timeout = s] }:
  -- into a lot of lunapbx.parking (res_parking's Park), its space back
  function C.park(args)
    local has, parking = pcall(require, "lunapbx.parking")
    if not has or next(parking.lots()) == nil then
      return nil, "park: no parking lot configured (lunapbx.parking)"
    end
    local id = id_of(args.leg)
    local leg = id and core.leg(id)
    if not leg then return nil, "no such leg" end
    local lot = parking.get(args.lot or "default")
    if not lot then return nil, ("no lot '%s'"):format(tostring(args.lot or "default")) end
    if args.timeout ~= nil and type(args.timeout) ~= "number" then return nil, '"timeout": seconds' end
    local slot, why = lot:park(leg, { parker = args.parker, timeout = args.timeout })
    if not slot then return nil, why end
    return { leg = id, lot = lot.name, slot = slot }
  end
  -- the queue's members (app_queue's AddQueueMember, RemoveQueueMember,
  -- PauseQueueMember), through lunapbx.queue when it is there
  local function queues(what)
    local has, q = pcall(require, "lunapbx.queue")
    if not has or type(q) ~= "table" or not q[what] or (q.names and #q.names() == 0) then
      return nil, ("%s: no queue configured (lunapbx.queue)"):format(what)
    end
    return q
  end

  local function str(v) return type(v) == "string" and v ~= "" end

  local function done(ok, why) if ok then return { done = true } end return nil, why end

  function C.queue_add(args)
    local q, why = queues("add")
    if not q then return nil, why end
    if not str(args.queue) or not str(args.member) then return nil, '"queue" and "member" are needed' end
    return done(q.add(args.queue, args.member, { penalty = args.penalty }))
  end

  function C.queue_remove(args)
    local q, why = queues("remove")
    if not q then return nil, why end
    if not str(args.queue) or not str(args.member) then return nil, '"queue" and "member" are needed' end
    return done(q.remove(args.queue, args.member))
  end

  -- { member [, queue, reason, paused = false (unpause)] }
  function C.queue_pause(args)
    local q, why = queues("pause")
    if not q then return nil, why end
    if not str(args.member) then return nil, '"member" is needed' end
    if args.paused == false then
      return done(q.unpause(args.member, { queue = args.queue }))
    end
    return done(q.pause(args.member, { queue = args.queue, reason = args.reason }))
  end

  local function bridge(call, job)
    local other = core.leg(job.with)
    if not other then return call:hangup() end
    for _, leg in ipairs { call.leg, other } do
      if leg.state ~= "answered" then leg:answer() end
    end
    local br = core.bridge(call.leg, other)
    local ev
    repeat ev = br:wait() until ev ~= "feature" and ev ~= "refer"
    if ev == "hangup" then br:hangup() end
  end

  -- the script of a call in context lunapbx-api
  function api.run(call)
    local job = jobs[call.exten]
    jobs[call.exten] = nil
    if not job then return call:hangup(404) end
    log("info", "api: %s on leg %d", job.op, call.leg.id)
    if job.op == "bridge" then return bridge(call, job) end
    if call.leg.state ~= "answered" and not call:answer() then return end
    if job.op == "play" then
      call:play(job.sounds)
    else
      call:record(job.file, { max_seconds = job.max, beep = job.beep })
    end
    if job.exten and not call.leg.hungup then
      return call.leg:redirect(job.exten, job.context or call.leg.context)
    end
    call:hangup()
  end

  return api
end

return M
