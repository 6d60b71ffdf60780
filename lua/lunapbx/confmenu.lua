-- lunapbx.confmenu: the DTMF menus of conference rooms (confbridge.conf's
-- menus), used by lunapbx.confbridge.
--
--   confbridge.menu "board_menu" {
--     ["*"]  = "playback_and_continue(conf-usermenu)",
--     ["1"]  = "toggle_mute",
--     ["*8"] = "leave_conference",
--     ["5"]  = function(room, member) room:play("beep") end,   -- your own
--     digit_timeout = 2,   -- seconds to wait when a sequence may go on
--   }
--
-- Keys are sequences of 0-9 * # A-D.  A sequence that is also the start
-- of a longer one runs after digit_timeout without a further key.  The
-- actions are ConfBridge's names; admin_* act for admin users only.  A
-- function gets the room and the participant and may return a
-- CONFBRIDGE_RESULT to leave the room with.

local numbers = require "lunapbx.numbers"

local M = {}
local menus = {}

local function clamp(v) return math.max(-4, math.min(4, v)) end

local function play(ctx, names, interrupt)
  return ctx.call:play(names, { language = ctx.lang, interrupt = interrupt })
end

local function volume(dir, delta)
  return function(room, m)
    local now = room.br:volume(m.leg, dir) or 0
    room.br:volume(m.leg, dir, delta == 0 and 0 or clamp(now + delta))
  end
end

local function admin(fn)
  return function(room, m, ctx, arg)
    if m.admin then return fn(room, m, ctx, arg) end
  end
end

local function files(arg)
  local list = {}
  for f in (arg or ""):gmatch("[^&]+") do list[#list + 1] = f end
  return list
end

M.ACTIONS = {
  no_op = function() end,
  toggle_mute = function(room, m, ctx)
    if m.waiting or m.admin_muted then return nil, nil, play(ctx, ctx.snd.muted, true) end
    m.muted = not m.muted
    room:apply_mute(m)
    return nil, nil, play(ctx, m.muted and ctx.snd.muted or ctx.snd.unmuted, true)
  end,
  increase_listening_volume = volume("listen", 1),
  decrease_listening_volume = volume("listen", -1),
  reset_listening_volume = volume("listen", 0),
  increase_talking_volume = volume("talk", 1),
  decrease_talking_volume = volume("talk", -1),
  reset_talking_volume = volume("talk", 0),
  leave_conference = function() return "DTMF" end,
  playback = function(_, _, ctx, arg) play(ctx, files(arg)) end,
  playback_and_continue = function(_, _, ctx, arg)
    return nil, nil, play(ctx, files(arg), true)
  end,
  participant_count = function(room, _, ctx)
    local others = room:count() - 1
    local list = { ctx.snd.there_are }
    for _, p in ipairs(numbers.prompts(others, ctx.lang)) do list[#list + 1] = p end
    list[#list + 1] = ctx.snd.other_in_party
    return nil, nil, play(ctx, others == 0 and ctx.snd.only_person or list, true)
  end,
  admin_kick_last = admin(function(room) room:kick_last() end),
  admin_toggle_conference_lock = admin(function(room, _, ctx)
    room:lock(not room.state.locked)
    return nil, nil, play(ctx, room.state.locked and ctx.snd.locked_now
                          or ctx.snd.unlocked_now, true)
  end),
  admin_toggle_mute_participants = admin(function(room, _, ctx)
    room:mute_all(not room.state.muted_all)
    return nil, nil, play(ctx, room.state.muted_all and ctx.snd.participants_muted
                          or ctx.snd.participants_unmuted, true)
  end),
}

-- "name" or "name(arg)" -> the action and its argument.
local function parse(menu, key, v)
  if type(v) == "function" then
    return { fn = function(room, m) return v(room, m) end, text = "function" }
  end
  if type(v) ~= "string" then
    error(("confbridge.menu '%s': key %s: an action name or a function"):format(menu, key), 4)
  end
  local name, arg = v:match("^([%w_]+)%((.*)%)$")
  name = name or v
  local fn = M.ACTIONS[name]
  if not fn then
    error(("confbridge.menu '%s': key %s: unknown action '%s'"):format(menu, key, v), 4)
  end
  if (name == "playback" or name == "playback_and_continue") and not arg then
    error(("confbridge.menu '%s': key %s: %s(file&file...)"):format(menu, key, name), 4)
  end
  return { fn = fn, arg = arg, text = v }
end

local function declare(name, t, level)
  if type(name) ~= "string" or name == "" then error("confbridge.menu: a name is needed", level) end
  if type(t) ~= "table" then error(("confbridge.menu '%s': expects a table"):format(name), level) end
  if menus[name] and not menus[name].builtin then
    error(("confbridge.menu '%s' declared twice"):format(name), level)
  end
  local menu = { name = name, keys = {}, prefixes = {}, digit_timeout = 2 }
  for k, v in pairs(t) do
    if k == "digit_timeout" then
      if type(v) ~= "number" or v <= 0 then
        error(("confbridge.menu '%s': digit_timeout is seconds > 0"):format(name), level)
      end
      menu.digit_timeout = v
    elseif type(k) ~= "string" or not k:match("^[0-9*#A-D]+$") or #k > 8 then
      error(("confbridge.menu '%s': '%s' is no key sequence (0-9 * # A-D, up to 8)")
        :format(name, tostring(k)), level)
    else
      menu.keys[k] = parse(name, k, v)
      for i = 1, #k - 1 do menu.prefixes[k:sub(1, i)] = true end
    end
  end
  menus[name] = menu
  return menu
end

--- confbridge.menu "name" { [keys] = action, ..., digit_timeout = s }
function M.declare(name)
  return function(t) return declare(name, t, 3) end
end

function M.get(name)
  local menu = menus[name]
  if not menu then error(("confbridge: no menu '%s'"):format(tostring(name)), 3) end
  return menu
end

--- The keys so far (@a timed_out: none came within digit_timeout): runs
--- what they mean.  Returns a result to leave with, and the keys still
--- pending ("" when none; a key that cut a prompt short starts anew).
function M.key(menu, keys, timed_out, room, m, ctx)
  if menu.prefixes[keys] and not timed_out then return nil, keys end
  local action = menu.keys[keys]
  if not action then return nil, "" end
  local result, _, digit = action.fn(room, m, ctx, action.arg)
  if result then return result, "" end
  if digit and menu.prefixes[digit] then return nil, digit end
  if digit and menu.keys[digit] then return M.key(menu, digit, false, room, m, ctx) end
  return nil, ""
end

-- Asterisk's sample menus: default_menu for everybody, and with the
-- admin's keys for admins.
local USER_KEYS = {
  ["*"] = "playback_and_continue(conf-usermenu)",
  ["*1"] = "toggle_mute", ["1"] = "toggle_mute",
  ["*4"] = "decrease_listening_volume", ["4"] = "decrease_listening_volume",
  ["*6"] = "increase_listening_volume", ["6"] = "increase_listening_volume",
  ["*7"] = "decrease_talking_volume", ["7"] = "decrease_talking_volume",
  ["*8"] = "leave_conference", ["8"] = "leave_conference",
  ["*9"] = "increase_talking_volume", ["9"] = "increase_talking_volume",
}
local ADMIN_KEYS = {
  ["*"] = "playback_and_continue(conf-adminmenu)",
  ["*2"] = "admin_toggle_conference_lock", ["2"] = "admin_toggle_conference_lock",
  ["*3"] = "admin_kick_last", ["3"] = "admin_kick_last",
  ["*0"] = "admin_toggle_mute_participants", ["0"] = "admin_toggle_mute_participants",
}
for k, v in pairs(USER_KEYS) do ADMIN_KEYS[k] = ADMIN_KEYS[k] or v end
declare("default_menu", USER_KEYS, 2).builtin = true
declare("default_admin_menu", ADMIN_KEYS, 2).builtin = true

return M
