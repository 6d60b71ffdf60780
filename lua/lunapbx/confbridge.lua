-- lunapbx.confbridge: conference rooms, Asterisk's ConfBridge, in Lua.
--
--   local confbridge = require "lunapbx.confbridge"
--   confbridge.user_profile "chair"  { marked = true, admin = true, pin = "4321" }
--   confbridge.user_profile "member" { wait_marked = true, end_marked = true,
--                                      pin = "1234", music_on_hold_when_empty = true }
--   confbridge.bridge_profile "board" { max_members = 10, record = true }
--   pbx.context "internal" {
--     ["6"] = function(call) confbridge.join(call, "main") end,   -- ConfBridge(main)
--     ["1"] = function(call)      -- ConfBridge(1234,,1234_participants,1234_menu)
--       confbridge.join(call, "1234", { user = "member", menu = "default_menu" })
--     end,
--   }
--
-- A room is a bridge of the core (pbx.bridge{ room = name }: it mixes, each
-- participant hears the others and not itself).  Each participant's own
-- call script runs join(): the PIN, the announcements, then it waits in
-- the room (br:wait(leg)) for its keys (the menu), its talking on and
-- off, notes from the others' scripts, its hang-up or its removal, and
-- finally leaves.  What the participants share (who is in, locked, how
-- many marked users) is the room's br.vars, the same table for every
-- script of every configuration generation.  Nothing of a room is left
-- once its last participant has gone.
--
-- The menus are lunapbx.confmenu's; profiles and the room's functions are
-- here.  Results are Asterisk's CONFBRIDGE_RESULT.

local confmenu = require "lunapbx.confmenu"
local numbers = require "lunapbx.numbers"
local core = _core

local M = {}

local function log(level, fmt, ...) core.log(level, fmt:format(...)) end

-- What each moment plays (Asterisk's sound_* options, by the same names
-- without the prefix); a bridge profile's `sounds` replaces any of them.
M.SOUNDS = {
  join = "confbridge-join", leave = "confbridge-leave",
  has_joined = "conf-hasjoin", has_left = "conf-hasleft",
  only_person = "conf-onlyperson", only_one = "conf-onlyone",
  there_are = "conf-thereare", other_in_party = "conf-otherinparty",
  get_pin = "conf-getpin", invalid_pin = "conf-invalidpin",
  locked = "conf-locked", locked_now = "conf-lockednow", unlocked_now = "conf-unlockednow",
  full = "conf-full", kicked = "conf-kicked",
  muted = "conf-muted", unmuted = "conf-unmuted",
  participants_muted = "conf-now-muted", participants_unmuted = "conf-now-unmuted",
  wait_for_leader = "conf-waitforleader", leader_has_left = "conf-leaderhasleft",
  place_into_conference = "conf-placeintoconf",
  user_menu = "conf-usermenu", admin_menu = "conf-adminmenu",
  get_name = "vm-rec-name",
}

-- Profile fields: their type and default (Asterisk's defaults).
local BRIDGE = {
  max_members = { "number", 0 },        -- 0: no limit
  record = { "boolean", false },        -- record_conference
  record_file = { "string", false },    -- default confbridge/<room>-<date>
  language = { "string", false },       -- else the joiner's
  sounds = { "table", false },
}

local USER = {
  pin = { "string", false },
  pin_tries = { "number", 3 },
  admin = { "boolean", false },
  marked = { "boolean", false },
  start_muted = { "boolean", false },
  wait_marked = { "boolean", false },
  end_marked = { "boolean", false },
  quiet = { "boolean", false },                     -- no join/leave sounds
  announce_user_count = { "boolean", false },
  announce_only_user = { "boolean", true },
  announce_join_leave = { "boolean", false },       -- names recorded at join
  music_on_hold_when_empty = { "boolean", false },
  music_on_hold_class = { "string", "default" },
  timeout = { "number", 0 },                        -- seconds; 0: none
  name_seconds = { "number", 3 },
}

local bridge_profiles, user_profiles, hooks = {}, {}, {}

local function declare(kind, fields, store, name, t, level)
  if type(name) ~= "string" or name == "" then
    error(("confbridge.%s: a name is needed"):format(kind), level)
  end
  if type(t) ~= "table" then
    error(("confbridge.%s '%s': expects a table"):format(kind, name), level)
  end
  if store[name] and not store[name].builtin then
    error(("confbridge.%s '%s' declared twice"):format(kind, name), level)
  end
  local p = { name = name }
  for k, spec in pairs(fields) do
    if spec[2] ~= false then p[k] = spec[2] end
  end
  for k, v in pairs(t) do
    local spec = fields[k]
    if not spec then
      error(("confbridge.%s '%s': unknown field '%s'"):format(kind, name, tostring(k)), level)
    end
    if type(v) ~= spec[1] then
      error(("confbridge.%s '%s': '%s' must be a %s"):format(kind, name, k, spec[1]), level)
    end
    p[k] = v
  end
  return p
end

--- confbridge.bridge_profile "name" { max_members=, record=, record_file=,
---   language=, sounds = { only_person = "my-prompt", ... } }
function M.bridge_profile(name)
  return function(t)
    local p = declare("bridge_profile", BRIDGE, bridge_profiles, name, t, 3)
    for k, v in pairs(p.sounds or {}) do
      if not M.SOUNDS[k] or type(v) ~= "string" then
        error(("confbridge.bridge_profile '%s': sounds.%s is no sound of ConfBridge's")
          :format(name, tostring(k)), 2)
      end
    end
    if p.max_members < 0 then
      error(("confbridge.bridge_profile '%s': max_members >= 0"):format(name), 2)
    end
    bridge_profiles[name] = p
    return p
  end
end

--- confbridge.user_profile "name" { pin=, admin=, marked=, start_muted=,
---   wait_marked=, end_marked=, quiet=, announce_user_count=,
---   announce_only_user=, announce_join_leave=, music_on_hold_when_empty=,
---   music_on_hold_class=, timeout=, pin_tries=, name_seconds= }
function M.user_profile(name)
  return function(t)
    local p = declare("user_profile", USER, user_profiles, name, t, 3)
    if p.pin and not p.pin:match("^%d+$") then
      error(("confbridge.user_profile '%s': the pin is digits"):format(name), 2)
    end
    if p.pin_tries < 1 or p.timeout < 0 or p.name_seconds <= 0 then
      error(("confbridge.user_profile '%s': pin_tries >= 1, timeout >= 0, name_seconds > 0")
        :format(name), 2)
    end
    user_profiles[name] = p
    return p
  end
end

--- confbridge.menu "name" { ["1"] = "toggle_mute", ["*8"] = "leave_conference",
---   ["5"] = function(room, member) ... end, digit_timeout = 2 }
M.menu = confmenu.declare

--- confbridge.on_event(function(ev) ... end): ev.type "join", "leave" or
--- "talking", ev.room (the room), ev.member; ev.talking (talking), ev.result
--- (leave).  Runs in the participant's own script.
function M.on_event(fn)
  if type(fn) ~= "function" then error("confbridge.on_event expects a function", 2) end
  hooks[#hooks + 1] = fn
end

-- The built-in profiles (Asterisk's default_bridge and default_user); a
-- configuration may declare its own under the same names once.
bridge_profiles.default_bridge = declare("bridge_profile", BRIDGE, {}, "default_bridge", {}, 2)
bridge_profiles.default_bridge.builtin = true
user_profiles.default_user = declare("user_profile", USER, {}, "default_user", {}, 2)
user_profiles.default_user.builtin = true

local function profile(store, v, kind)
  if type(v) == "table" then return v end
  local p = store[v]
  if not p then error(("confbridge: no %s profile '%s'"):format(kind, tostring(v)), 3) end
  return p
end

---------------------------------------------------------------------------
-- Rooms: a bridge and the table its participants share.

local Room = {}
Room.__index = Room

local function room_of(br)
  local v = br.vars
  if not v.members then
    v.members, v.order, v.marked, v.locked, v.muted_all = {}, {}, 0, false, false
    v.created = core.now()
  end
  return setmetatable({ br = br, name = br.room, state = v }, Room)
end

--- confbridge.room(name) -> the room in progress of that name, or nil
function M.room(name)
  local br = core.room(name)
  return br and room_of(br) or nil
end

function Room:count() return self.br.count end

--- room:members() -> the participants, in the order they joined
function Room:members()
  local out = {}
  for _, id in ipairs(self.state.order) do out[#out + 1] = self.state.members[id] end
  return out
end

--- room:member(id) -> a participant by its leg id
function Room:member(id) return self.state.members[tonumber(id)] end

-- A participant is heard unless it muted itself, an admin muted it, or it
-- waits for its leader.
function Room:apply_mute(m)
  self.br:mute(m.leg, m.muted or m.admin_muted or m.waiting or false)
  self.br:deaf(m.leg, m.waiting or false)
end

--- room:mute(member, on): an admin's (or the console's) mute; the
--- participant cannot take it back itself
function Room:mute(m, on)
  m.admin_muted = on and true or false
  self:apply_mute(m)
end

--- room:mute_all(on): every participant but the admins
function Room:mute_all(on)
  self.state.muted_all = on and true or false
  for _, m in pairs(self.state.members) do
    if not m.admin then self:mute(m, on) end
  end
end

--- room:lock(on): nobody but admins joins a locked room
function Room:lock(on) self.state.locked = on and true or false end

--- room:kick(member [, reason]): it leaves; its script plays it the
--- kicked sound and returns reason (default "KICKED")
function Room:kick(m, reason)
  m.reason = reason or "KICKED"
  return self.br:remove(m.leg)
end

--- room:kick_last(): the last participant who joined, unless an admin
function Room:kick_last()
  local order = self.state.order
  for i = #order, 1, -1 do
    local m = self.state.members[order[i]]
    if m and not m.admin then
      self:kick(m)
      return m
    end
  end
end

--- room:play(names [, language]): into the room, over the talk
function Room:play(names, lang)
  return self.br:play(names, { language = lang })
end

--- room:notify(member, note): a note for that participant's script
function Room:notify(m, note) return self.br:notify(m.leg, note) end

--- room:info() -> Asterisk's CONFBRIDGE_INFO: parties, admins, marked,
--- locked, muted, and each participant
function Room:info()
  local st = self.br:status()
  local info = { name = self.name, parties = st.count, admins = 0, marked = self.state.marked,
                 locked = self.state.locked, muted = self.state.muted_all,
                 recording = st.recording, members = {} }
  for _, m in ipairs(self:members()) do
    local c = self.br:member(m.leg) or {}
    if m.admin then info.admins = info.admins + 1 end
    info.members[#info.members + 1] = {
      id = m.id, caller = m.caller, caller_name = m.caller_name, admin = m.admin,
      marked = m.marked, muted = c.muted, waiting = m.waiting, talking = c.talking,
      talk_seconds = c.talk_seconds, seconds = c.seconds,
    }
  end
  return info
end

--- confbridge.info(name) -> room:info(), or nil when no such room
function M.info(name)
  local r = M.room(name)
  return r and r:info() or nil
end

--- confbridge.rooms() -> every room in progress, as info()
function M.rooms()
  local out = {}
  for _, br in ipairs(core.rooms()) do out[#out + 1] = room_of(br):info() end
  return out
end

-- Who a console command means: a leg id, "last", "all", or
-- "participants" (everybody but the admins).
local function targets(room, who)
  local out = {}
  for _, m in ipairs(room:members()) do
    if who == "all" or (who == "participants" and not m.admin)
      or tonumber(who) == m.id then
      out[#out + 1] = m
    end
  end
  if who == "last" then out = { room.state.members[room.state.order[#room.state.order]] } end
  return out
end

local function console_room(name)
  local r = M.room(tostring(name))
  if not r then error("no room " .. tostring(name), 0) end
  return r
end

--- confbridge.kick(room, who) (who: a leg id, "last", "all", "participants")
function M.kick(name, who)
  local r = console_room(name)
  local list = targets(r, who)
  for _, m in ipairs(list) do r:kick(m) end
  return #list
end

--- confbridge.mute(room, who [, on]) (who as kick's)
function M.mute(name, who, on)
  local r = console_room(name)
  if on == nil then on = true end
  if who == "participants" then r.state.muted_all = on end
  local list = targets(r, who)
  for _, m in ipairs(list) do r:mute(m, on) end
  return #list
end

--- confbridge.lock(room [, on])
function M.lock(name, on)
  local r = console_room(name)
  if on == nil then on = true end
  r:lock(on)
  return r.state.locked
end

-- On the event bus too (WebSocket clients, pbx.on): conference.join,
-- conference.leave, conference.talking.
local function publish(ev)
  if not core.emit then return end
  local m = ev.member or {}
  core.emit("conference." .. ev.type, {
    room = ev.room.name, leg = m.id, caller = m.caller, caller_name = m.caller_name,
    admin = m.admin and true or nil, talking = ev.talking, result = ev.result,
    count = ev.room.state and ev.room.state.order and #ev.room.state.order or nil,
  })
end

local function emit(ev)
  publish(ev)
  for _, fn in ipairs(hooks) do
    local ok, err = pcall(fn, ev)
    if not ok then log("error", "confbridge %s: on_event hook: %s", ev.room.name, tostring(err)) end
  end
end

---------------------------------------------------------------------------
-- One participant: its script, from the PIN to its leaving.

local function play(ctx, names, interrupt)
  return ctx.call:play(names, { language = ctx.lang, interrupt = interrupt })
end

-- The PIN, keyed over the prompt (a key cuts it short) and ended by #
-- (or by 5 s without a key).
local function read_pin(ctx)
  local max = #ctx.user.pin + 8
  local d, why = play(ctx, ctx.snd.get_pin, true)
  if why == "hangup" then return nil end
  local pin = d or ""
  while pin:sub(-1) ~= "#" and #pin < max do
    local k = ctx.call:read_digit(pin == "" and 10 or 5)
    if not k then break end
    pin = pin .. k
  end
  return (pin:gsub("#$", ""))
end

local function ask_pin(ctx)
  local up = ctx.user
  for _ = 1, up.pin_tries do
    local pin = read_pin(ctx)
    if ctx.call.hungup then return "HANGUP" end
    if pin == up.pin then return nil end
    play(ctx, ctx.snd.invalid_pin)
  end
  log("info", "confbridge %s: %s keyed a wrong PIN %d times", ctx.name,
      tostring(ctx.call.caller), up.pin_tries)
  return "FAILED"
end

-- The participant says its name (announce_join_leave): a recording only
-- its room's announcements use, removed when it leaves.
local function record_name(ctx)
  local file = ("confbridge/names/%s-%d"):format(ctx.name, ctx.call.leg.id)
  play(ctx, ctx.snd.get_name)
  local secs, status, path = ctx.call:record(file, { max_seconds = ctx.user.name_seconds,
                                                    silence_seconds = 1, beep = true })
  if status == "HANGUP" then return nil, "HANGUP" end
  if secs and secs > 0 then return path end
  if path then core.delete_recording(path) end
end

local function say_count(ctx, others)
  if others == 1 then return play(ctx, ctx.snd.only_one) end
  local list = { ctx.snd.there_are }
  for _, p in ipairs(numbers.prompts(others, ctx.lang)) do list[#list + 1] = p end
  list[#list + 1] = ctx.snd.other_in_party
  return play(ctx, list)
end

-- Music on hold while alone or waiting for the leader, if the profile says.
local function update_music(room, m)
  local up = m.profile
  local want = up.music_on_hold_when_empty and (m.waiting or room:count() == 1) or false
  if want ~= (m.moh or false) then
    m.moh = want
    room.br:moh(m.leg, want and up.music_on_hold_class or false)
  end
end

-- Who is let in: admins always; the others unless locked or full.
local function refusal(room, ctx)
  if ctx.user.admin then return nil end
  if room.state.locked then return "locked" end
  local max = ctx.bridge.max_members
  if max > 0 and room:count() >= max then return "full" end
end

local function enter(room, ctx, name_file)
  local call, up, st = ctx.call, ctx.user, room.state
  local m = {
    id = call.leg.id, leg = call.leg, caller = call.caller, caller_name = call.caller_name,
    admin = up.admin, marked = up.marked, profile = up, joined = core.now(),
    muted = up.start_muted, admin_muted = st.muted_all and not up.admin,
    waiting = up.wait_marked and not up.marked and st.marked == 0,
    talk_seconds = 0, name_file = name_file, language = ctx.lang,
  }
  st.members[m.id] = m
  st.order[#st.order + 1] = m.id
  room:apply_mute(m)
  if up.marked then
    st.marked = st.marked + 1
    if st.marked == 1 then           -- the leader came: the waiting join in
      for _, o in pairs(st.members) do
        if o.waiting then room:notify(o, "marked") end
      end
    end
  end
  if ctx.bridge.record and not room.br:status().recording then
    local file = ctx.bridge.record_file or ("confbridge/%s-%s"):format(room.name,
                                                                     os.date("%Y%m%d-%H%M%S"))
    local ok, why = room.br:record(file)
    if not ok then log("warn", "confbridge %s: not recorded: %s", room.name, why) end
  end
  log("info", "confbridge %s: %s joins (%d in the room%s%s)", room.name, tostring(m.caller),
      room:count(), m.admin and ", admin" or "", m.marked and ", marked" or "")
  return m
end

-- What the participant hears once in: the others are told it came.
local function welcome(room, ctx, m)
  local n = room:count()
  if n > 1 and not m.profile.quiet then room:play(ctx.snd.join, ctx.lang) end
  if m.name_file and n > 1 then room:play({ m.name_file, ctx.snd.has_joined }, ctx.lang) end
  if n == 2 then                  -- the one who was alone: no more music
    for _, o in pairs(room.state.members) do
      if o ~= m then room:notify(o, "count") end
    end
  end
  emit { type = "join", room = room, member = m }
  if m.waiting then
    if not m.profile.quiet then play(ctx, ctx.snd.wait_for_leader) end
  elseif n == 1 and m.profile.announce_only_user then
    play(ctx, ctx.snd.only_person)
  end
  update_music(room, m)
end

local function talking(room, m, on)
  local now = core.now()
  m.talking = on
  if on then
    m.talk_since = now
  elseif m.talk_since then
    m.talk_seconds = m.talk_seconds + (now - m.talk_since)
    m.talk_since = nil
  end
  emit { type = "talking", room = room, member = m, talking = on }
end

-- A note from another script.  Returns a result when it means leaving.
local function note(room, ctx, m, what)
  if what == "marked" and m.waiting then
    m.waiting = false
    room:apply_mute(m)
    update_music(room, m)
    if not m.profile.quiet then play(ctx, ctx.snd.place_into_conference) end
  elseif what == "unmarked" then
    if m.profile.end_marked then return "ENDMARKED" end
    if m.profile.wait_marked and not m.marked then
      m.waiting = true
      room:apply_mute(m)
      if not m.profile.quiet then play(ctx, ctx.snd.leader_has_left) end
    end
  end
  update_music(room, m)
end

-- Waits in the room until the participant leaves; its CONFBRIDGE_RESULT.
local function stay(room, ctx, m)
  local br, keys = room.br, ""
  local deadline = m.profile.timeout > 0 and core.now() + m.profile.timeout
  while true do
    local wait_s = keys ~= "" and ctx.menu.digit_timeout or nil
    if deadline then
      local left = deadline - core.now()
      if left <= 0 then return "TIMEOUT" end
      wait_s = math.min(wait_s or left, left)
    end
    local ev, _, x = br:wait(m.leg, wait_s)
    local result
    if ev == "hangup" then return "HANGUP"
    elseif ev == "left" then return m.reason or "KICKED"
    elseif ev == "talking" then talking(room, m, x)
    elseif ev == "notify" then result = note(room, ctx, m, x)
    elseif ev == "digit" then result, keys = confmenu.key(ctx.menu, keys .. x, false, room, m, ctx)
    elseif keys ~= "" then result, keys = confmenu.key(ctx.menu, keys, true, room, m, ctx)
    end
    if result then return result end
    keys = keys or ""
  end
end

local function leave(room, ctx, m, result)
  local st, br = room.state, room.br
  st.members[m.id] = nil
  for i, id in ipairs(st.order) do
    if id == m.id then table.remove(st.order, i) break end
  end
  if m.talking then talking(room, m, false) end
  br:remove(m.leg)
  if m.marked then st.marked = st.marked - 1 end
  local n = br.count
  if n > 0 then
    if not m.profile.quiet then room:play(ctx.snd.leave, ctx.lang) end
    if m.name_file then room:play({ m.name_file, ctx.snd.has_left }, ctx.lang) end
    for _, o in pairs(st.members) do
      if m.marked and st.marked == 0 and not o.marked then room:notify(o, "unmarked")
      elseif n == 1 then room:notify(o, "count") end
    end
  end
  if m.name_file then core.delete_recording(m.name_file) end
  log("info", "confbridge %s: %s leaves: %s (%d left)", room.name, tostring(m.caller), result, n)
  emit { type = "leave", room = room, member = m, result = result }
  if result == "KICKED" then play(ctx, ctx.snd.kicked)
  elseif result == "ENDMARKED" then play(ctx, ctx.snd.leader_has_left) end
end

local function finish(call, result)
  call.vars.confbridge_result = result
  return result
end

--- confbridge.join(call, room [, { bridge = "default_bridge", user =
--- "default_user", menu = name, language = "fr" }]) -> CONFBRIDGE_RESULT:
--- "HANGUP", "KICKED", "ENDMARKED", "DTMF" (left with the menu), "TIMEOUT",
--- "FAILED" (wrong PIN, locked, full); also call.vars.confbridge_result
function M.join(call, name, opts)
  opts = opts or {}
  if type(name) ~= "string" or not name:match("^[%w_.+@-]+$") or #name > 64 then
    error("confbridge.join: a room name of 1 to 64 letters, digits, _.+@-", 2)
  end
  local bp = profile(bridge_profiles, opts.bridge or "default_bridge", "bridge")
  local up = profile(user_profiles, opts.user or "default_user", "user")
  local sounds = setmetatable(bp.sounds or {}, { __index = M.SOUNDS })
  local ctx = {
    call = call, name = name, bridge = bp, user = up, snd = sounds,
    menu = confmenu.get(opts.menu or (up.admin and "default_admin_menu" or "default_menu")),
    lang = opts.language or bp.language or call.vars.language or "en",
  }
  if not call:answer() then return finish(call, "HANGUP") end

  if up.pin then
    local r = ask_pin(ctx)
    if r then return finish(call, r) end
  end
  local name_file
  if up.announce_join_leave then
    local why
    name_file, why = record_name(ctx)
    if why then return finish(call, why) end
  end
  local existing = core.room(name)
  if up.announce_user_count and existing and existing.count > 0 then
    say_count(ctx, existing.count)
  end
  if call.hungup then
    if name_file then core.delete_recording(name_file) end
    return finish(call, "HANGUP")
  end

  -- looked up, checked and joined without waiting in between
  local room = room_of(core.bridge { room = name })
  local no = refusal(room, ctx)
  if no then
    if name_file then core.delete_recording(name_file) end
    log("info", "confbridge %s: %s refused (%s)", name, tostring(call.caller), no)
    play(ctx, ctx.snd[no])
    return finish(call, "FAILED")
  end
  room.br:add(call.leg)
  local m = enter(room, ctx, name_file)

  local ok, result = pcall(function()
    welcome(room, ctx, m)
    return stay(room, ctx, m)
  end)
  if not ok then
    leave(room, ctx, m, "FAILED")
    error(result, 0)
  end
  leave(room, ctx, m, result)
  return finish(call, result)
end

M.Room = Room
return M
