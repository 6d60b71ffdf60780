-- lunapbx.parking: parking lots (Asterisk's res_parking), in Lua.
--
--   local parking = require "lunapbx.parking"
--   local lot = parking.lot "default" {      -- res_parking.conf [default]
--     exten = "700", slots = "701-720",       -- parkext, parkpos
--     timeout = 45,                           -- parkingtime
--     comebacktoorigin = true,                -- ring the parker back
--     comebackdialtime = 30,
--     comebackcontext = "parkedcallstimeout", -- when comebacktoorigin is off
--     operator = "xlite",                     -- next in the timeout's chain
--     voicemail = true,                       -- then the parker's mailbox
--   }
--   pbx.context "internal" { include = { "parkedcalls" }, ... }
--
-- A lot declares the context "parkedcalls" (another lot: "parkedcalls-NAME",
-- or `context =`): its park extension parks the caller (a blind transfer
-- to it, #1 700 or a phone's REFER, parks the transferred party and tells
-- the transferer the space), and each space retrieves the call parked
-- there.  Each space is a busy lamp (BLF) too.
--
-- A parked call is a call of its own (leg:redirect into this module's
-- waiting function): it hears the lot's music until someone dials its
-- space (the retriever takes the leg), it hangs up (the space is free), or
-- its time runs out: lot.on_timeout (parking.comeback: the parker, then
-- the operator, then the parker's voicemail).  lot.choose picks a space
-- (parking.first_free, or parking.next_free for findslot=next).  Both are
-- plain functions to replace.  Which call is in which space is kept in
-- pbx.shared("parking"): a reload loses none, and the next generation's
-- calls retrieve them.

local core = _core
local talk = require "lunapbx.talk"

local M = {}

-- [lot] = { slots = { [space] = record }, last = space }, across reloads
local function shared() return core.shared("parking") end
local lots = {}                           -- this generation's, by name
local by_fn = setmetatable({}, { __mode = "k" })

local function lunapbx() return require "lunapbx" end
local function log(level, fmt, ...) core.log(level, fmt:format(...)) end

local FIELDS = {
  exten = "string", slots = "string|table", context = "string",
  timeout = "number", comebacktoorigin = "boolean", comebackdialtime = "number",
  comebackcontext = "string", moh = "string", findslot = "string",
  choose = "function", on_timeout = "function", operator = "string|table",
  voicemail = "boolean", announce = "boolean",
}

M.DEFAULTS = {
  exten = "700", slots = "701-720", timeout = 45, comebacktoorigin = true,
  comebackdialtime = 30, comebackcontext = "parkedcallstimeout",
  findslot = "first", voicemail = true, announce = true,
}

local Lot = {}
Lot.__index = Lot

local function state_of(name)
  local all = shared()
  local st = all[name]
  if not st then
    st = { slots = {} }
    all[name] = st
  end
  return st
end

local function parse_slots(v)
  if type(v) == "table" then
    local out = {}
    for i, s in ipairs(v) do
      if type(s) ~= "string" and type(s) ~= "number" then
        return nil, ("slots[%d] is not a number"):format(i)
      end
      out[i] = tostring(s)
    end
    return out
  end
  local a, b = v:match("^%s*(%d+)%s*%-%s*(%d+)%s*$")
  if not a then return nil, "slots: \"701-720\" or a list" end
  if tonumber(a) > tonumber(b) or tonumber(b) - tonumber(a) >= 100000 then
    return nil, "slots: a range of at most 100000, low to high"
  end
  local out = {}
  for n = tonumber(a), tonumber(b) do out[#out + 1] = tostring(n) end
  return out
end

-- A space holds a call while its leg is up and nobody took it.
local function live(rec)
  return rec and not rec.done and rec.leg and not rec.leg.hungup
end

--- The record of the call parked at @slot, or nil.
function Lot:parked(slot)
  local rec = state_of(self.name).slots[slot]
  return live(rec) and rec or nil
end

--- Every parked call of the lot: { rec, ... } in space order.
function Lot:list()
  local out = {}
  for _, s in ipairs(self.slots) do
    local rec = self:parked(s)
    if rec then out[#out + 1] = rec end
  end
  return out
end

--- The free spaces, in order.
function Lot:free_slots()
  local out = {}
  for _, s in ipairs(self.slots) do
    if not self:parked(s) then out[#out + 1] = s end
  end
  return out
end

--- Asterisk's findslot=first: the lowest free space.
function M.first_free(lot, free) return free[1] end

--- findslot=next: the first free one after the last one given.
function M.next_free(lot, free)
  local last = tonumber(state_of(lot.name).last or -1)
  for _, s in ipairs(free) do
    if tonumber(s) > last then return s end
  end
  return free[1]
end

-- The space is free again: the busy lamp goes out.
local function release(lot, rec)
  local st = state_of(lot.name)
  rec.done = true
  if st.slots[rec.slot] == rec then
    st.slots[rec.slot] = nil
    core.blf(rec.slot, nil)
  end
end

local function parker_of(p)
  if type(p) == "string" then
    local info = core.endpoint_info(p)
    return p, info and info.caller, info and info.caller_name
  end
  if p and p.endpoint then return p.endpoint, p.caller, p.caller_name end
end

--- Tell @leg where the call is parked ("The call is parked at 7 0 1").
function M.announce(leg, slot)
  if not leg or leg.hungup then return end
  leg:play("park-parked-at")
  leg:say_digits(slot)
end

-- The parked call: music until it is retrieved (its leg taken), hangs up
-- or times out.
local function waiting(lot, rec)
  return function(call)
    local leg = call.leg
    rec.call = call.id
    if leg.state ~= "answered" then leg:answer() end
    leg:start_moh(lot.moh)
    log("info", "parking: leg %d parked at %s (lot %s) for %g s", leg.id,
        rec.slot, lot.name, rec.timeout)
    local deadline = core.now() + rec.timeout
    while true do
      local left = deadline - core.now()
      local _, ev = core.wait(leg, left > 0 and left or 0.001)
      if ev == "taken" then return end                -- retrieved
      if ev ~= "digit" then
        release(lot, rec)
        if ev == "hangup" then
          log("info", "parking: the call at %s hung up", rec.slot)
          return
        end
        break                                          -- timeout
      end
    end
    log("info", "parking: the call at %s timed out", rec.slot)
    leg:stop_moh()
    return lot.on_timeout(call, rec, lot)
  end
end

--- Park @leg in a space of the lot.  opts.parker (a leg or an endpoint
--- name) is rung back on timeout; opts.announce (a leg this call holds,
--- possibly @leg itself) hears the space.  Returns the space, or nil and
--- "full" (or why the leg could not move).
function Lot:park(leg, opts)
  opts = opts or {}
  local st = state_of(self.name)
  local slot
  if self.choose == M.first_free then       -- no list to build for it
    for _, s in ipairs(self.slots) do
      if not live(st.slots[s]) then slot = s break end
    end
  else
    local free = self:free_slots()
    slot = #free > 0 and self.choose(self, free, opts) or nil
  end
  if not slot then
    log("info", "parking: lot %s is full", self.name)
    return nil, "full"
  end
  local ep, num, name = parker_of(opts.parker)
  local rec = { slot = slot, lot = self.name, leg = leg, parker = ep,
                parker_num = num, parker_name = name, at = core.now(),
                timeout = opts.timeout or self.timeout }
  st.slots[slot] = rec
  st.last = slot
  core.blf(slot, leg)

  if opts.announce == leg and self.announce then   -- parks itself: it
    M.announce(leg, slot)                           -- hears its space
    if rec.done or leg.hungup then                  -- first
      release(self, rec)
      return nil, "hangup"
    end
  end
  local ok, why = leg:redirect(waiting(self, rec), self.context,
                               { parked = slot, PARKINGSLOT = slot, PARKEDLOT = self.name,
                                 PARKER = ep })
  if not ok then
    release(self, rec)
    return nil, why
  end
  if opts.announce and opts.announce ~= leg and self.announce then
    M.announce(opts.announce, slot)
  end
  return slot
end

--- Dialling a space: the retriever talks with the call parked there.
function Lot:retrieve(call, slot)
  local rec = self:parked(slot)
  if not rec then
    call:answer()
    call:play("park-empty")
    return call:hangup()
  end
  release(self, rec)
  log("info", "parking: call %d retrieves the call at %s", call.id, slot)
  if call.leg.state ~= "answered" then call:answer() end
  local br = core.bridge(call.leg, rec.leg)    -- takes it from its call
  return talk(call, br)
end

-- The mailbox whose lamp an endpoint is (the parker's voicemail).
local function mailbox_of(endpoint)
  local vm = require "lunapbx.voicemail"
  for _, box in ipairs(vm.boxes()) do
    for _, e in ipairs(box.endpoints or {}) do
      if e == endpoint then return box.number end
    end
  end
end

--- The default timeout chain: comebacktoorigin rings the parker back
--- (comebackdialtime), else the call goes to comebackcontext; then the
--- operator, then the parker's voicemail; else it hangs up.
function M.comeback(call, rec, lot)
  local wait = lot.comebackdialtime
  if not lot.comebacktoorigin then
    local ctx, flat = lot.comebackcontext, rec.parker and ("SIP_" .. rec.parker) or "s"
    local exten = lunapbx().match(ctx, flat) and flat or "s"
    log("info", "parking: the call from %s goes to %s@%s", rec.slot, exten, ctx)
    return call.leg:redirect(exten, ctx, { PARKINGSLOT = rec.slot, PARKEDLOT = lot.name,
                                          PARKER = rec.parker })
  end
  local parker = rec.parker ~= call.leg.endpoint and rec.parker or nil  -- not itself
  if parker then
    log("info", "parking: ringing the parker %s back", parker)
    if call:dial(parker, { timeout = wait }) == "ANSWER" or call.hungup then return end
  end
  if lot.operator then
    if call:dial(lot.operator, { timeout = wait }) == "ANSWER" or call.hungup then return end
  end
  local box = lot.voicemail and parker and mailbox_of(parker)
  if box then
    return require("lunapbx.voicemail").deposit(call, box, { greeting = "unavail" })
  end
  call:hangup()
end

-- The park extension: a blind transfer brought the transferred party
-- (call.vars.transferer parked it), or the caller parks itself.
local function park_exten(lot)
  return function(call)
    local parker = call.vars.transferer or call.leg.endpoint
    local self_park = call.vars.transferer == nil
    if self_park then call:answer() end
    local slot, why = lot:park(call.leg, { parker = parker,
                                           announce = self_park and call.leg or nil })
    if slot or why ~= "full" then return end
    call:answer()
    call:play("park-full")
    if self_park then return call:hangup() end
    return lot.on_timeout(call, { slot = nil, lot = lot.name, leg = call.leg, parker = parker,
                                  full = true }, lot)
  end
end

--- parking.lot "name" { ... }: declare a lot (see the top of this file).
function M.lot(name)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    error("parking.lot: a name of letters, digits, _ and - is needed", 2)
  end
  return function(t)
    if type(t) ~= "table" then error(("parking.lot '%s': expects a table"):format(name), 2) end
    if lots[name] then error(("parking.lot '%s' declared twice"):format(name), 2) end
    local lot = setmetatable({ name = name }, Lot)
    for k, v in pairs(M.DEFAULTS) do lot[k] = v end
    for k, v in pairs(t) do
      local want = FIELDS[k]
      if not want then error(("parking.lot '%s': unknown field '%s'"):format(name, tostring(k)), 2) end
      if not want:find(type(v), 1, true) then
        error(("parking.lot '%s': '%s' must be a %s"):format(name, k, want:gsub("|", " or ")), 2)
      end
      lot[k] = v
    end
    for _, k in ipairs { "timeout", "comebackdialtime" } do
      if lot[k] <= 0 or lot[k] > 86400 then
        error(("parking.lot '%s': %s is seconds (0 to 86400)"):format(name, k), 2)
      end
    end
    if lot.findslot ~= "first" and lot.findslot ~= "next" then
      error(("parking.lot '%s': findslot is \"first\" or \"next\""):format(name), 2)
    end
    local slots, err = parse_slots(lot.slots)
    if not slots then error(("parking.lot '%s': %s"):format(name, err), 2) end
    lot.slots = slots
    lot.context = lot.context or (name == "default" and "parkedcalls" or "parkedcalls-" .. name)
    lot.choose = lot.choose or (lot.findslot == "next" and M.next_free or M.first_free)
    lot.on_timeout = lot.on_timeout or M.comeback
    lot.park_fn = park_exten(lot)

    local pbx = lunapbx()
    local exts = { [lot.exten] = lot.park_fn }
    for _, s in ipairs(slots) do
      if s == lot.exten then error(("parking.lot '%s': %s is its park extension"):format(name, s), 2) end
      exts[s] = function(call) return lot:retrieve(call, s) end
      pbx.hint(s, {})                        -- a busy lamp per space
    end
    local ok, cerr = pcall(pbx.context(lot.context), exts)
    if not ok then error(("parking.lot '%s': %s"):format(name, cerr), 2) end
    lots[name] = lot
    by_fn[lot.park_fn] = lot
    return lot
  end
end

--- The lot of that name (this generation's), or nil.
function M.get(name) return lots[name] end

--- The lots, by name.
function M.lots() return lots end

--- The lot whose park extension is this dialplan function (a transfer to
--- it parks), or nil.
function M.lot_of(fn) return fn and by_fn[fn] end

--- parking.park(leg, { lot = "default", parker =, announce = }): park
--- from a script.
function M.park(leg, opts)
  opts = opts or {}
  local lot = lots[opts.lot or "default"]
  if not lot then error(("parking.park: no lot '%s'"):format(tostring(opts.lot or "default")), 2) end
  return lot:park(leg, opts)
end

return M
