-- lunapbx.queue_store: what the queues keep in the PBX's database (the
-- storage module, core/store: <state>/lunapbx.db):
--
--   queue_member  dynamic members (persistentmembers) and every member's
--                 pause, so that logins and pauses survive a restart
--   queue_log     one row per event, Asterisk's queue_log: time, callid,
--                 queuename, agent, event, data1..data5 (ENTERQUEUE,
--                 CONNECT, COMPLETECALLER, COMPLETEAGENT, ABANDON,
--                 RINGNOANSWER, RINGCANCELED, EXITWITHTIMEOUT, EXITEMPTY,
--                 EXITWITHKEY, ADDMEMBER, REMOVEMEMBER, PAUSE, UNPAUSE)
--
-- Each write is committed when it returns: members and pauses on the disk
-- (fsync), the log's rows in the operating system's hands (a crash or a
-- kill -9 of the PBX loses none; see store_append).  Without a database (the state folder unwritable) the
-- queues work and say so in the log, once.

local core = _core

local M = {}

local SCHEMA = {
  [[CREATE TABLE queue_member (
      queue TEXT NOT NULL, member TEXT NOT NULL,
      penalty INTEGER NOT NULL DEFAULT 0,
      dynamic INTEGER NOT NULL DEFAULT 0,
      paused INTEGER NOT NULL DEFAULT 0, reason TEXT,
      PRIMARY KEY (queue, member))]],
  [[CREATE TABLE queue_log (
      id INTEGER PRIMARY KEY, time REAL NOT NULL, callid TEXT,
      queuename TEXT NOT NULL, agent TEXT, event TEXT NOT NULL,
      data1 TEXT, data2 TEXT, data3 TEXT, data4 TEXT, data5 TEXT)]],
  [[CREATE INDEX queue_log_queue ON queue_log (queuename, time)]],
}

local ready, warned

local function warn(err)
  if not warned then
    core.log("warn", "queues: no state database, members and the queue log are not kept: "
             .. tostring(err))
    warned = true
  end
end

local function open()
  if ready ~= nil then return ready end
  local ok, v, err = pcall(core.store_migrate, "queue", SCHEMA)
  ready = ok and v ~= nil
  if not ready then warn(ok and err or v) end
  return ready
end

local function exec(sql, ...)
  if not open() then return nil end
  local n, err = core.store_exec(sql, ...)
  if not n then core.log("error", "queues: " .. err) end
  return n, err
end

-- The queue log's rows: committed as they come, without an fsync each
-- (store_append: a crash or kill -9 of the PBX loses none; hundreds of
-- calls a second would otherwise wait for the disk).
local function append(sql, ...)
  if not open() then return nil end
  local n, err = core.store_append(sql, ...)
  if not n then core.log("error", "queues: " .. err) end
  return n, err
end

--- The saved members of a queue: { member = { penalty, dynamic, paused, reason } }.
function M.members(queue)
  if not open() then return {} end
  local rows, err = core.store_query(
    "SELECT member, penalty, dynamic, paused, reason FROM queue_member WHERE queue = ?", queue)
  if not rows then core.log("error", "queues: " .. err) return {} end
  local out = {}
  for _, r in ipairs(rows) do
    out[r.member] = { penalty = r.penalty, dynamic = r.dynamic == 1,
                      paused = r.paused == 1, reason = r.reason }
  end
  return out
end

--- Save a member's row (a login, a pause).
function M.save(queue, m)
  return exec("INSERT INTO queue_member (queue, member, penalty, dynamic, paused, reason)"
              .. " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (queue, member) DO UPDATE SET"
              .. " penalty = excluded.penalty, dynamic = excluded.dynamic,"
              .. " paused = excluded.paused, reason = excluded.reason",
              queue, m.name, m.penalty or 0, m.dynamic and 1 or 0, m.paused and 1 or 0,
              m.reason)
end

--- Forget a member (a logout).
function M.forget(queue, name)
  return exec("DELETE FROM queue_member WHERE queue = ? AND member = ?", queue, name)
end

--- One queue_log row; data are strings or numbers (at most five).
function M.log(now, callid, queue, agent, event, ...)
  local d = table.pack(...)
  for i = 1, 5 do
    if d[i] ~= nil then d[i] = tostring(d[i]) end
  end
  return append("INSERT INTO queue_log (time, callid, queuename, agent, event,"
              .. " data1, data2, data3, data4, data5) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              now, callid and tostring(callid) or "NONE", queue, agent or "NONE", event,
              d[1], d[2], d[3], d[4], d[5])
end

--- The queue log's rows, newest last: opts.queue, opts.event, opts.since
--- (a time), opts.limit (default 1000).
function M.read(opts)
  opts = opts or {}
  if not open() then return {} end
  local where, args = {}, {}
  if opts.queue then where[#where + 1] = "queuename = ?" args[#args + 1] = opts.queue end
  if opts.event then where[#where + 1] = "event = ?" args[#args + 1] = opts.event end
  if opts.since then where[#where + 1] = "time >= ?" args[#args + 1] = opts.since + 0.0 end
  local sql = "SELECT id, time, callid, queuename, agent, event, data1, data2, data3,"
    .. " data4, data5 FROM queue_log"
    .. (#where > 0 and (" WHERE " .. table.concat(where, " AND ")) or "")
    .. " ORDER BY id DESC LIMIT ?"
  args[#args + 1] = math.tointeger(opts.limit or 1000) or 1000
  local rows, err = core.store_query(sql, table.unpack(args))
  if not rows then core.log("error", "queues: " .. err) return {} end
  local out = {}
  for i = #rows, 1, -1 do out[#out + 1] = rows[i] end
  return out
end

return M
