-- Specification of conference rooms' Lua side (lunapbx.confbridge,
-- lunapbx.confmenu): profiles and menus, the PIN, announcements, the
-- menu's keys, marked and waiting participants, kicks, locks, hooks and
-- CONFBRIDGE_RESULT.  The core's rooms (pbx.bridge{ room = }) and the
-- calls are fakes; each participant's join() runs in a coroutine of its
-- own, as in the PBX, and the spec drives what each one's br:wait(leg)
-- returns (keys, talking, hang-ups) while notes between scripts pass
-- through the fake room as they do through the core's.

-- The core: rooms by name, a clock, logs.
local function fake_core()
  local core = { rooms_by_name = {}, logs = {}, clock = 1000, deleted = {} }

  local function new_room(name)
    local br = { room = name, vars = {}, legs = {}, plays = {}, mohs = {}, mutes = {},
                 deafs = {}, vols = {}, events = {} }
    local mt = {}
    mt.__index = function(t, k)
      if k == "count" then return #rawget(t, "legs") end
      return mt[k]
    end
    function mt:add(leg)
      assert(not leg.bridge, "already in a bridge")
      self.legs[#self.legs + 1] = leg
      leg.bridge = self
      self.events[leg] = self.events[leg] or {}
    end
    function mt:remove(leg)
      for i, l in ipairs(self.legs) do
        if l == leg then
          table.remove(self.legs, i)
          leg.bridge = nil
          if #self.legs == 0 then core.rooms_by_name[self.room] = nil end
          return true
        end
      end
      return false
    end
    function mt:mute(leg, on) self.mutes[leg] = on return true end
    function mt:deaf(leg, on) self.deafs[leg] = on return true end
    function mt:volume(leg, dir, step)
      self.vols[leg] = self.vols[leg] or { talk = 0, listen = 0 }
      if step then self.vols[leg][dir] = step end
      return self.vols[leg][dir]
    end
    function mt:member(leg)
      if leg.bridge ~= self then return nil end
      return { muted = self.mutes[leg], talking = false, talk_seconds = 0, seconds = 1 }
    end
    function mt:moh(leg, cls) self.mohs[leg] = cls or nil return true end
    function mt:notify(leg, note)
      if leg.bridge ~= self then return nil, "not in this bridge" end
      table.insert(self.events[leg], { "notify", note })
      return true
    end
    function mt:play(names, opts)
      self.plays[#self.plays + 1] = type(names) == "table" and table.concat(names, " ") or names
      return 1
    end
    function mt:record(file)
      self.recording = file
      return file
    end
    function mt:status() return { count = #self.legs, recording = self.recording } end
    -- br:wait(leg, s): what the spec queued for that leg; a participant
    -- with nothing queued yields to the spec (which may answer timeout).
    function mt:wait(leg, s)
      while true do
        if leg.hungup then
          if leg.bridge then self:remove(leg) end
          return "hangup", leg
        end
        if leg.bridge ~= self then return "left", leg end
        local q = self.events[leg]
        if #q > 0 then
          local ev = table.remove(q, 1)
          return ev[1], leg, ev[2]
        end
        if coroutine.yield("wait", s) == "timeout" and s then return nil, "timeout" end
      end
    end
    return setmetatable(br, mt)
  end

  function core.bridge(t)
    local br = core.rooms_by_name[t.room]
    if not br then
      br = new_room(t.room)
      core.rooms_by_name[t.room] = br
    end
    return br
  end
  function core.room(name) return core.rooms_by_name[name] end
  function core.rooms()
    local out = {}
    for _, br in pairs(core.rooms_by_name) do out[#out + 1] = br end
    return out
  end
  function core.now() return core.clock end
  function core.log(level, msg) core.logs[#core.logs + 1] = level .. " " .. msg end
  function core.delete_recording(f) core.deleted[#core.deleted + 1] = f return true end
  return core
end

local next_leg = 0

-- A caller: keys it will press at the prompts (`keys`: a list of strings,
-- one per prompt or read), what it hears.
local function fake_call(caller, o)
  o = o or {}
  next_leg = next_leg + 1
  local call = { caller = caller, caller_name = caller, vars = {}, played = {},
                 leg = { id = next_leg }, keys = o.keys or {} }
  setmetatable(call, { __index = function(t, k)
    if k == "hungup" then return t.leg.hungup or false end
  end })
  function call:answer() return not self.leg.hungup end
  function call:play(names, opts)
    self.played[#self.played + 1] = type(names) == "table" and table.concat(names, " ") or names
    if self.leg.hungup then return nil, "hangup" end
    if opts and opts.interrupt and self.keys[1] then
      local k = self.keys[1]
      self.keys[1] = k:sub(2)
      if self.keys[1] == "" then table.remove(self.keys, 1) end
      return k:sub(1, 1), "digit"
    end
    return nil, "done"
  end
  function call:read_digit()
    local k = self.keys[1]
    if not k then return nil, "timeout" end
    self.keys[1] = k:sub(2)
    if self.keys[1] == "" then table.remove(self.keys, 1) end
    return k:sub(1, 1), "digit"
  end
  function call:record(file)
    self.recorded = file
    return 2.5, "SILENCE", file .. ".wav"
  end
  return call
end

local core, cb

local function fresh()
  core = fake_core()
  _G._core = core
  package.loaded["lunapbx.confbridge"] = nil
  package.loaded["lunapbx.confmenu"] = nil
  cb = require "lunapbx.confbridge"
  return cb
end

-- Participants, each join() in a coroutine; run() resumes them all until
-- none can go on.  A play() that interrupts with "digit" keeps the rest of
-- that key string for read_digit (a PIN keyed over the prompt).
local function participant(call, room, opts)
  local p = { call = call }
  p.co = coroutine.create(function() p.result = cb.join(call, room, opts) end)
  return p
end

local function run(ps, timeout)
  local function rounds(arg)
    for _ = 1, 20 do
      for _, p in ipairs(ps) do
        if coroutine.status(p.co) == "suspended" then
          local ok, err = coroutine.resume(p.co, arg)
          assert(ok, err)
        end
      end
      arg = nil
    end
  end
  rounds()
  if timeout then rounds("timeout") end
end

-- A key pressed in the room (br:wait(leg) gets "digit").
local function key(p, digits)
  local br = core.room(p.room or "main")
  for d in digits:gmatch(".") do table.insert(br.events[p.call.leg], { "digit", d }) end
end

local function talk(p, on)
  local br = core.room("main")
  table.insert(br.events[p.call.leg], { "talking", on })
end

local function has(list, item)
  for _, v in ipairs(list) do if v == item then return true end end
  return false
end

describe("conference profiles and menus", function()
  before_each(fresh)

  it("have ConfBridge's defaults", function()
    local a = participant(fake_call("201"), "main")
    run { a }
    assert.equal(1, core.room("main").count)
    assert.is_true(has(a.call.played, "conf-onlyperson"))     -- announce_only_user
    assert.same({}, core.room("main").plays)                  -- alone: no join sound
  end)

  it("refuse what is not a profile or a menu", function()
    assert.has_error(function() cb.user_profile "x" { colour = "red" } end)
    assert.has_error(function() cb.user_profile "x" { pin = "12a" } end)
    assert.has_error(function() cb.user_profile "x" { admin = "yes" } end)
    assert.has_error(function() cb.bridge_profile "x" { max_members = -1 } end)
    assert.has_error(function() cb.bridge_profile "x" { sounds = { nope = "a" } } end)
    assert.has_error(function() cb.menu "m" { ["1"] = "fly_away" } end)
    assert.has_error(function() cb.menu "m" { ["1x"] = "toggle_mute" } end)
    assert.has_error(function() cb.menu "m" { ["1"] = "playback" } end)
    cb.user_profile "y" { pin = "1" }
    assert.has_error(function() cb.user_profile "y" { pin = "1" } end)
    cb.user_profile "default_user" { quiet = true }             -- the built-in, once
    assert.has_error(function() cb.join(fake_call("1"), "main", { user = "nobody" }) end)
    assert.has_error(function() cb.join(fake_call("1"), "a room") end)
  end)
end)

describe("joining and leaving", function()
  before_each(fresh)

  it("plays the join and leave sounds into the room, and frees it when the last goes", function()
    local a, b = participant(fake_call("201"), "main"), participant(fake_call("202"), "main")
    run { a, b }
    local br = core.room("main")
    assert.equal(2, br.count)
    assert.same({ "confbridge-join" }, br.plays)
    assert.is_false(has(b.call.played, "conf-onlyperson"))
    b.call.leg.hungup = true
    run { a, b }
    assert.equal("HANGUP", b.result)
    assert.equal("HANGUP", b.call.vars.confbridge_result)
    assert.same({ "confbridge-join", "confbridge-leave" }, br.plays)
    a.call.leg.hungup = true
    run { a, b }
    assert.is_nil(core.room("main"))
    assert.same({}, br.vars.members)
  end)

  it("asks for the PIN, refuses three wrong ones, takes the right one", function()
    cb.user_profile "member" { pin = "1234" }
    local bad = participant(fake_call("201", { keys = { "9#", "12#", "4321#" } }), "main",
                            { user = "member" })
    run { bad }
    assert.equal("FAILED", bad.result)
    local n = 0
    for _, f in ipairs(bad.call.played) do if f == "conf-invalidpin" then n = n + 1 end end
    assert.equal(3, n)
    assert.is_nil(core.room("main"))
    local good = participant(fake_call("202", { keys = { "12345#", "1234#" } }), "main",
                             { user = "member" })
    run { good }
    assert.equal(1, core.room("main").count)
  end)

  it("says how many are there, records and announces names", function()
    cb.user_profile "talky" { announce_user_count = true, announce_join_leave = true }
    local a = participant(fake_call("201"), "main", { user = "talky" })
    local b = participant(fake_call("202"), "main", { user = "talky" })
    local c = participant(fake_call("203"), "main", { user = "talky" })
    run { a }
    run { b }
    run { c }
    assert.is_true(has(b.call.played, "conf-onlyone"))
    assert.is_true(has(c.call.played, "conf-thereare digits/2 conf-otherinparty"))
    assert.equal("confbridge/names/main-" .. c.call.leg.id, c.call.recorded)
    local br = core.room("main")
    assert.is_true(has(br.plays, "confbridge/names/main-" .. c.call.leg.id .. ".wav conf-hasjoin"))
    c.call.leg.hungup = true
    run { a, b, c }
    assert.is_true(has(br.plays, "confbridge/names/main-" .. c.call.leg.id .. ".wav conf-hasleft"))
    assert.is_true(has(core.deleted, "confbridge/names/main-" .. c.call.leg.id .. ".wav"))
  end)

  it("refuses a locked or full room, except to admins", function()
    cb.bridge_profile "small" { max_members = 1 }
    cb.user_profile "boss" { admin = true }
    local a = participant(fake_call("201"), "main", { bridge = "small" })
    local b = participant(fake_call("202"), "main", { bridge = "small" })
    run { a }
    run { b }
    assert.equal("FAILED", b.result)
    assert.is_true(has(b.call.played, "conf-full"))
    cb.lock("main", true)
    local c = participant(fake_call("203"), "main")
    run { c }
    assert.equal("FAILED", c.result)
    assert.is_true(has(c.call.played, "conf-locked"))
    local d = participant(fake_call("204"), "main", { user = "boss", bridge = "small" })
    run { d }
    assert.equal(2, core.room("main").count)
  end)

  it("records the room when the bridge profile says so", function()
    cb.bridge_profile "rec" { record = true, record_file = "board/meeting" }
    local a = participant(fake_call("201"), "main", { bridge = "rec" })
    run { a }
    assert.equal("board/meeting", core.room("main").recording)
  end)

  it("leaves after the profile's timeout", function()
    cb.user_profile "brief" { timeout = 30 }
    local a = participant(fake_call("201"), "main", { user = "brief" })
    run { a }
    core.clock = core.clock + 31
    run({ a }, true)
    assert.equal("TIMEOUT", a.result)
    assert.is_nil(core.room("main"))
  end)
end)

describe("the menu", function()
  before_each(fresh)

  it("mutes and unmutes with 1, saying so", function()
    local a = participant(fake_call("201"), "main")
    run { a }
    local br, leg = core.room("main"), a.call.leg
    key(a, "1")
    run { a }
    assert.is_true(br.mutes[leg])
    assert.equal("conf-muted", a.call.played[#a.call.played])
    key(a, "1")
    run { a }
    assert.is_false(br.mutes[leg])
    assert.equal("conf-unmuted", a.call.played[#a.call.played])
  end)

  it("turns volumes up and down within -4..4", function()
    local a = participant(fake_call("201"), "main")
    run { a }
    key(a, "666666")
    key(a, "7")
    run { a }
    local br = core.room("main")
    assert.equal(4, br.vols[a.call.leg].listen)
    assert.equal(-1, br.vols[a.call.leg].talk)
  end)

  it("waits after * for the rest of a sequence, or says the menu", function()
    local a = participant(fake_call("201"), "main")
    run { a }
    key(a, "*")
    run({ a }, true)                 -- nothing more: the menu is said
    assert.equal("conf-usermenu", a.call.played[#a.call.played])
    key(a, "*8")
    run { a }
    assert.equal("DTMF", a.result)
    assert.is_nil(core.room("main"))
  end)

  it("runs a function of the dialplan's, which may leave", function()
    local seen
    cb.menu "mine" { ["5"] = function(room, m) seen = room.name .. " " .. m.caller end,
                     ["9"] = function() return "DTMF" end }
    local a = participant(fake_call("201"), "main", { menu = "mine" })
    run { a }
    key(a, "59")
    run { a }
    assert.equal("main 201", seen)
    assert.equal("DTMF", a.result)
  end)

  it("gives admins the lock, kick last and mute all", function()
    cb.user_profile "boss" { admin = true }
    local boss = participant(fake_call("200"), "main", { user = "boss" })
    local a = participant(fake_call("201"), "main")
    local b = participant(fake_call("202"), "main")
    run { boss, a, b }
    key(boss, "2")
    run { boss, a, b }
    assert.is_true(core.room("main").vars.locked)
    assert.equal("conf-lockednow", boss.call.played[#boss.call.played])
    key(boss, "0")
    run { boss, a, b }
    local br = core.room("main")
    assert.is_true(br.mutes[a.call.leg] and br.mutes[b.call.leg])
    assert.is_false(br.mutes[boss.call.leg])
    key(a, "1")                      -- muted by the admin: stays muted
    run { boss, a, b }
    assert.is_true(br.mutes[a.call.leg])
    key(boss, "3")
    run { boss, a, b }
    assert.equal("KICKED", b.result)
    assert.is_true(has(b.call.played, "conf-kicked"))
    key(a, "3")                      -- not an admin: nothing
    run { boss, a, b }
    assert.equal(2, br.count)
  end)
end)

describe("marked and waiting participants", function()
  before_each(function()
    fresh()
    cb.user_profile "leader" { marked = true, admin = true }
    cb.user_profile "follower" { wait_marked = true, end_marked = true,
                                 music_on_hold_when_empty = true }
    cb.user_profile "patient" { wait_marked = true }
  end)

  it("wait with music, muted and deaf, until the leader comes", function()
    local a = participant(fake_call("201"), "main", { user = "follower" })
    local b = participant(fake_call("202"), "main", { user = "patient" })
    run { a, b }
    local br = core.room("main")
    assert.is_true(has(a.call.played, "conf-waitforleader"))
    assert.is_false(has(a.call.played, "conf-onlyperson"))
    assert.equal("default", br.mohs[a.call.leg])
    assert.is_nil(br.mohs[b.call.leg])
    assert.is_true(br.mutes[a.call.leg] and br.deafs[a.call.leg])
    local l = participant(fake_call("200"), "main", { user = "leader" })
    run { a, b, l }
    assert.is_false(br.mutes[a.call.leg])
    assert.is_false(br.deafs[b.call.leg])
    assert.is_nil(br.mohs[a.call.leg])
    assert.is_true(has(a.call.played, "conf-placeintoconf"))
  end)

  it("end with the leader (end_marked) or wait again", function()
    local a = participant(fake_call("201"), "main", { user = "follower" })
    local b = participant(fake_call("202"), "main", { user = "patient" })
    local l = participant(fake_call("200"), "main", { user = "leader" })
    run { l, a, b }
    local br = core.room("main")
    assert.is_false(br.mutes[a.call.leg])
    l.call.leg.hungup = true
    run { l, a, b }
    assert.equal("ENDMARKED", a.result)
    assert.is_true(has(a.call.played, "conf-leaderhasleft"))
    assert.is_nil(b.result)
    assert.is_true(br.mutes[b.call.leg] and br.deafs[b.call.leg])
    assert.equal(1, br.count)
  end)
end)

describe("the console and the hooks", function()
  before_each(fresh)

  it("kick, mute, lock and list rooms", function()
    local a = participant(fake_call("201"), "main")
    local b = participant(fake_call("202"), "main")
    run { a, b }
    local info = cb.info("main")
    assert.equal(2, info.parties)
    assert.equal("201", info.members[1].caller)
    assert.equal(1, #cb.rooms())
    assert.equal(1, cb.mute("main", a.call.leg.id))
    assert.is_true(core.room("main").mutes[a.call.leg])
    assert.equal(2, cb.mute("main", "all", false))
    assert.is_false(core.room("main").mutes[a.call.leg])
    assert.is_true(cb.lock("main"))
    assert.equal(1, cb.kick("main", b.call.leg.id))
    run { a, b }
    assert.equal("KICKED", b.result)
    assert.has_error(function() cb.kick("nowhere", "all") end, "no room nowhere")
  end)

  it("tell hooks who joins, talks (on and off, with the time) and leaves", function()
    local seen = {}
    cb.on_event(function(ev)
      seen[#seen + 1] = ev.type .. " " .. ev.member.caller
        .. (ev.type == "talking" and (" " .. tostring(ev.talking)) or "")
        .. (ev.result and (" " .. ev.result) or "")
      if ev.type == "talking" and not ev.talking then
        seen[#seen + 1] = ("spoke %.0f s"):format(ev.member.talk_seconds)
      end
    end)
    cb.on_event(function() error("a broken hook") end)
    local a = participant(fake_call("201"), "main")
    run { a }
    talk(a, true)
    run { a }
    core.clock = core.clock + 12
    talk(a, false)
    run { a }
    a.call.leg.hungup = true
    run { a }
    assert.same({ "join 201", "talking 201 true", "talking 201 false", "spoke 12 s",
                  "leave 201 HANGUP" }, seen)
    local errors = 0
    for _, l in ipairs(core.logs) do if l:find("a broken hook", 1, true) then errors = errors + 1 end end
    assert.equal(4, errors)
  end)

  it("publishes join, talking and leave on the event bus (pbx.on, WebSocket)", function()
    local sent = {}
    core.emit = function(name, fields) sent[#sent + 1] = { name, fields } return true end
    local a = participant(fake_call("201"), "main")
    run { a }
    talk(a, true)
    run { a }
    a.call.leg.hungup = true
    run { a }
    core.emit = nil
    local names = {}
    for _, e in ipairs(sent) do names[#names + 1] = e[1] end
    assert.same({ "conference.join", "conference.talking", "conference.talking",
                  "conference.leave" }, names)   -- a leaving talker stops talking
    assert.equal("main", sent[1][2].room)
    assert.equal("201", sent[1][2].caller)
    assert.equal(a.call.leg.id, sent[1][2].leg)
    assert.is_true(sent[2][2].talking)
    assert.is_false(sent[3][2].talking)
    assert.equal("HANGUP", sent[4][2].result)
  end)

  it("lets a hook mute a line that talks too long", function()
    cb.on_event(function(ev)
      if ev.type == "talking" and ev.talking and ev.member.caller == "666" then
        ev.room:mute(ev.member, true)
      end
    end)
    local a = participant(fake_call("666"), "main")
    run { a }
    talk(a, true)
    run { a }
    assert.is_true(core.room("main").mutes[a.call.leg])
  end)
end)
