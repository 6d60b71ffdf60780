-- Specification of the parking lots' Lua side (lunapbx.parking): what a
-- declaration makes (context, spaces, lamps), how a space is chosen, what
-- a parked call does until it is retrieved, hangs up or times out, the
-- timeout's chain, and that parked calls outlive a generation.  The core
-- (_core), the generation's lunapbx module, legs and calls are fakes.

local shared = {}

local function fake_core()
  local core = { blf_calls = {}, dials = {}, logs = {}, t = 100 }
  function core.shared(name)
    shared[name] = shared[name] or {}
    return shared[name]
  end
  function core.blf(res, leg) core.blf_calls[#core.blf_calls + 1] = { res, leg } return true end
  function core.log(level, msg) core.logs[#core.logs + 1] = level .. " " .. msg end
  function core.now() return core.t end
  function core.endpoint_info(name)
    return name == "xlite" and { name = "xlite", caller = "6002", caller_name = "Xlite" } or nil
  end
  -- a parked call's wait: what the spec scripted
  function core.wait(leg, s)
    local ev = table.remove(core.script or {}, 1) or "hangup"
    if ev == "timeout" then core.t = core.t + s return nil, "timeout" end
    if ev == "hangup" then leg.hungup = true end
    return leg, ev
  end
  function core.bridge(a, b)
    core.bridged = { a, b }
    local br = { count = 2 }
    function br:wait() self.count = 1 return "hangup", a end
    function br:hangup() core.bridge_hung = true end
    return br
  end
  return core
end

local function fake_pbx()
  local pbx = { contexts = {}, hints = {}, matches = {} }
  function pbx.context(name)
    return function(t)
      if pbx.contexts[name] then error("context '" .. name .. "' already defined", 2) end
      pbx.contexts[name] = t
    end
  end
  function pbx.hint(exten, eps) pbx.hints[exten] = eps end
  function pbx.match(ctx, exten) return pbx.matches[ctx .. "/" .. exten] end
  return pbx
end

local function fake_leg(id, endpoint)
  local leg = { id = id, endpoint = endpoint, caller = "10" .. id, state = "answered",
                hungup = false, heard = {} }
  function leg:play(p) self.heard[#self.heard + 1] = p end
  function leg:say_digits(d) self.heard[#self.heard + 1] = "digits " .. d end
  function leg:start_moh(c) self.moh = c or "default" end
  function leg:stop_moh() self.moh = nil end
  function leg:answer() self.state = "answered" end
  function leg:hangup() self.hungup = true end
  function leg:redirect(target, context, vars)
    self.redirected = { target = target, context = context, vars = vars }
    return true
  end
  return leg
end

-- A call whose leg is `leg`: its dials answer as the spec says.
local function fake_call(leg, answers)
  local call = { id = 7, leg = leg, vars = {}, dialled = {}, played = {} }
  function call:dial(target, opts)
    self.dialled[#self.dialled + 1] = { target, opts.timeout }
    return table.remove(answers or {}, 1) or "NOANSWER"
  end
  function call:answer() leg.state = "answered" end
  function call:play(p) self.played[#self.played + 1] = p end
  function call:hangup(code) self.hung = code or true end
  return call
end

local pbx

-- A new generation: the modules loaded afresh, the shared state kept.
local function generation()
  _G._core = fake_core()
  pbx = fake_pbx()
  package.loaded["lunapbx"] = pbx
  package.loaded["lunapbx.parking"] = nil
  package.loaded["lunapbx.voicemail"] = {
    boxes = function() return { { number = "6002", endpoints = { "xlite" } } } end,
    deposit = function(call, box, opts) call.deposited = { box, opts.greeting } return "SUCCESS" end,
  }
  return require "lunapbx.parking"
end

-- Park `leg` and run its parked call with the scripted waits.
local function park_and_run(lot, leg, opts, script)
  local slot, why = lot:park(leg, opts)
  if not slot then return nil, why end
  _core.script = script
  local call = fake_call(leg, opts and opts.answers)
  leg.redirected.target(call)
  return slot, call
end

-- the fakes put in package.loaded go: other specs load the real modules
after_each(function()
  package.loaded["lunapbx"] = nil
  package.loaded["lunapbx.voicemail"] = nil
end)

describe("a parking lot's declaration", function()
  before_each(function() for k in pairs(shared) do shared[k] = nil end end)

  it("has Asterisk's defaults and makes parkedcalls: 700 parks, 701-720 retrieve", function()
    local parking = generation()
    local lot = parking.lot "default" {}
    assert.equal("700", lot.exten)
    assert.equal(20, #lot.slots)
    assert.equal("701", lot.slots[1])
    assert.equal(45, lot.timeout)
    assert.is_true(lot.comebacktoorigin)
    assert.equal("parkedcalls", lot.context)
    local ctx = pbx.contexts.parkedcalls
    assert.equal(lot.park_fn, ctx["700"])
    assert.is_function(ctx["720"])
    assert.same({}, pbx.hints["701"])          -- a lamp per space
    assert.equal(lot, parking.lot_of(ctx["700"]))
    assert.is_nil(parking.lot_of(ctx["701"]))
  end)

  it("names the context of other lots after them", function()
    local parking = generation()
    local lot = parking.lot "sales" { exten = "800", slots = { 801, "802" } }
    assert.equal("parkedcalls-sales", lot.context)
    assert.same({ "801", "802" }, lot.slots)
  end)

  it("refuses what is no lot", function()
    local parking = generation()
    assert.has_error(function() parking.lot "a b" {} end)
    assert.has_error(function() parking.lot "x" { colour = "red" } end)
    assert.has_error(function() parking.lot "x" { slots = "720-701" } end)
    assert.has_error(function() parking.lot "x" { slots = "many" } end)
    assert.has_error(function() parking.lot "x" { timeout = 0 } end)
    assert.has_error(function() parking.lot "x" { findslot = "random" } end)
    assert.has_error(function() parking.lot "x" { exten = "701", slots = "701-702" } end)
    parking.lot "x" {}
    assert.has_error(function() parking.lot "x" {} end)
  end)
end)

describe("parking a call", function()
  local parking, lot
  before_each(function()
    for k in pairs(shared) do shared[k] = nil end
    parking = generation()
    lot = parking.lot "default" { slots = "701-703", timeout = 45 }
  end)

  it("takes the first free space and lights its lamp", function()
    local a, b = fake_leg(1, "amine"), fake_leg(2, "bob")
    assert.equal("701", lot:park(a, { parker = "xlite" }))
    assert.equal("702", lot:park(b))
    assert.same({ "701", a }, _core.blf_calls[1])
    assert.equal(a, lot:parked("701").leg)
    assert.equal("xlite", lot:parked("701").parker)
    assert.equal("6002", lot:parked("701").parker_num)
    assert.same({ "703" }, lot:free_slots())
    assert.equal("701", a.redirected.vars.PARKINGSLOT)
    assert.equal("parkedcalls", a.redirected.context)
    assert.is_function(a.redirected.target)
  end)

  it("says the lot is full", function()
    for i = 1, 3 do lot:park(fake_leg(i, "p" .. i)) end
    assert.same({ nil, "full" }, { lot:park(fake_leg(9, "late")) })
  end)

  it("counts a space whose call hung up as free", function()
    local a = fake_leg(1, "amine")
    lot:park(a)
    a.hungup = true
    assert.equal("701", lot:park(fake_leg(2, "bob")))
  end)

  it("lets the user choose the space, and findslot=next goes round", function()
    local p2 = generation()
    local mine = p2.lot "mine" { slots = "701-703", choose = function(_, free) return free[#free] end }
    assert.equal("703", mine:park(fake_leg(1, "a")))
    local nxt = p2.lot "nxt" { slots = "801-803", context = "n", findslot = "next" }
    local l1 = fake_leg(1, "a")
    assert.equal("801", nxt:park(l1))
    l1.hungup = true                        -- 801 is free again
    assert.equal("802", nxt:park(fake_leg(2, "b")))
  end)

  it("tells the parker the space after the call has left, a self-parker before", function()
    local a, by = fake_leg(1, "amine"), fake_leg(2, "xlite")
    lot:park(a, { parker = by, announce = by })
    assert.same({ "park-parked-at", "digits 701" }, by.heard)
    assert.same({}, a.heard)
    local s = fake_leg(3, "self")
    lot:park(s, { announce = s })
    assert.same({ "park-parked-at", "digits 702" }, s.heard)
  end)
end)

describe("a parked call", function()
  local parking, lot
  before_each(function()
    for k in pairs(shared) do shared[k] = nil end
    parking = generation()
    lot = parking.lot "default" { slots = "701-702", timeout = 45, operator = "op" }
  end)

  it("hears the lot's music, and keys change nothing", function()
    local a = fake_leg(1, "amine")
    park_and_run(lot, a, {}, { "digit", "taken" })
    assert.equal("default", a.moh)
    assert.is_nil(lot:parked("701") and lot:parked("701").done)
  end)

  it("frees its space when it hangs up: the lamp goes out", function()
    local a = fake_leg(1, "amine")
    park_and_run(lot, a, {}, { "hangup" })
    assert.is_nil(lot:parked("701"))
    assert.same({ "701", nil }, _core.blf_calls[#_core.blf_calls])
  end)

  it("is retrieved by dialling its space", function()
    local a, r = fake_leg(1, "amine"), fake_leg(2, "xlite")
    lot:park(a)
    local retriever = fake_call(r)
    pbx.contexts.parkedcalls["701"](retriever)
    assert.same({ r, a }, _core.bridged)
    assert.is_nil(lot:parked("701"))
    assert.is_true(_core.bridge_hung)       -- over when one hangs up
  end)

  it("is not there: the retriever hears so", function()
    local retriever = fake_call(fake_leg(2, "xlite"))
    pbx.contexts.parkedcalls["702"](retriever)
    assert.same({ "park-empty" }, retriever.played)
    assert.is_true(retriever.hung)
    assert.is_nil(_core.bridged)
  end)

  it("times out: rings the parker back (comebacktoorigin)", function()
    local a = fake_leg(1, "amine")
    local _, call = park_and_run(lot, a, { parker = "xlite", answers = { "ANSWER" } },
                                 { "timeout" })
    assert.same({ { "xlite", 30 } }, call.dialled)
    assert.is_nil(lot:parked("701"))
  end)

  it("then the operator, then the parker's voicemail", function()
    local a = fake_leg(1, "amine")
    local _, call = park_and_run(lot, a, { parker = "xlite", answers = { "NOANSWER", "BUSY" } },
                                 { "timeout" })
    assert.same({ { "xlite", 30 }, { "op", 30 } }, call.dialled)
    assert.same({ "6002", "unavail" }, call.deposited)
  end)

  it("goes to comebackcontext when comebacktoorigin is off", function()
    local l2 = parking.lot "ctx" { slots = "801-801", exten = "800", comebacktoorigin = false }
    pbx.matches["parkedcallstimeout/SIP_xlite"] = function() end
    local a = fake_leg(1, "amine")
    local _, call = park_and_run(l2, a, { parker = "xlite" }, { "timeout" })
    assert.same({}, call.dialled)
    -- the second redirect replaced the first (the parked call's)
    assert.equal("SIP_xlite", a.redirected.target)
    assert.equal("parkedcallstimeout", a.redirected.context)
    assert.equal("801", a.redirected.vars.PARKINGSLOT)
  end)

  it("uses the lot's own chain when it has one", function()
    local got
    local l2 = parking.lot "own" { slots = "901-901", exten = "900",
                                   on_timeout = function(call, rec) got = rec.slot end }
    park_and_run(l2, fake_leg(1, "amine"), {}, { "timeout" })
    assert.equal("901", got)
  end)
end)

describe("parking across a reload", function()
  it("keeps the parked calls for the next generation's retrievers", function()
    for k in pairs(shared) do shared[k] = nil end
    local lot = generation().lot "default" {}
    local a = fake_leg(1, "amine")
    lot:park(a)
    local lot2 = generation().lot "default" {}     -- a reload: a new module
    assert.equal(a, lot2:parked("701").leg)
    assert.equal("702", lot2:park(fake_leg(2, "bob")))
  end)
end)
