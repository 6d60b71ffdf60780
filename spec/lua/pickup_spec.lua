-- Specification of the pickup service's Lua side (lunapbx.pickup): which
-- ringing call *8, **N and an INVITE with Replaces take, the groups, the
-- hook; the core's ringing dials and endpoints are fakes.

local GROUPS = {
  xlite = { callgroup = { ["1"] = true }, pickupgroup = { ["1"] = true } },
  bria  = { callgroup = { ["1"] = true }, pickupgroup = { ["1"] = true, sales = true } },
  shop  = { callgroup = { sales = true }, pickupgroup = {} },
  lobby = { callgroup = {}, pickupgroup = {} },
}

local function fake_dial(id, endpoints, caller)
  local d = { id = id, endpoints = endpoints, caller = caller or { id = 100 + id } }
  function d:pickup(leg)
    if self.status then return nil, "over" end
    self.status = "ANSWER"
    self.picked_by = leg
    return true
  end
  return d
end

local function setup(ringing)
  local core = {}
  function core.ringing() return ringing end
  function core.endpoint_info(name) return GROUPS[name] end
  local logs = {}
  local svc = require("lunapbx.pickup").new {
    core = core, log = function(_, fmt, ...) logs[#logs + 1] = fmt:format(...) end,
    endpoints_of = function(n) return ({ ["6002"] = { "xlite" }, ["6010"] = { "shop" } })[n] end,
  }
  return svc, logs
end

local function fake_call(endpoint)
  local call = { id = 1, leg = { id = 9, endpoint = endpoint }, played = {} }
  function call:answer() self.answered = true end
  function call:play(p) self.played[#self.played + 1] = p end
  function call:hangup(code) self.hung = code or true end
  return call
end

describe("*8 (group pickup)", function()
  it("takes the oldest call ringing a phone of my pickup groups", function()
    local old, new = fake_dial(1, { "xlite" }), fake_dial(2, { "xlite" })
    local svc = setup({ old, new })
    local call = fake_call("bria")
    assert.is_true(svc.group(call))
    assert.equal(call.leg, old.picked_by)
    assert.is_nil(new.picked_by)
  end)

  it("skips calls of other groups, named groups count", function()
    local d1, d2 = fake_dial(1, { "lobby" }), fake_dial(2, { "shop", "xlite" })
    local svc = setup({ d1, d2 })
    local call = fake_call("bria")          -- pickupgroup 1 and sales
    assert.is_true(svc.group(call))
    assert.is_nil(d1.picked_by)
    assert.equal(call.leg, d2.picked_by)
  end)

  it("takes nothing for a phone in no pickup group, and says so", function()
    local d = fake_dial(1, { "xlite" })
    local svc = setup({ d })
    local call = fake_call("lobby")
    assert.same({ nil, "none" }, { svc.group(call) })
    assert.is_nil(d.picked_by)
    assert.same({ "pickup-none" }, call.played)
    assert.is_true(call.hung)
  end)

  it("never takes the picker's own call", function()
    local call = fake_call("bria")
    local d = fake_dial(1, { "xlite" }, call.leg)
    local svc = setup({ d })
    assert.same({ nil, "none" }, { svc.group(call) })
  end)

  it("goes to the next when one was answered meanwhile", function()
    local d1, d2 = fake_dial(1, { "xlite" }), fake_dial(2, { "xlite" })
    d1.status = "ANSWER"
    local svc = setup({ d1, d2 })
    local call = fake_call("bria")
    assert.is_true(svc.group(call))
    assert.equal(call.leg, d2.picked_by)
  end)
end)

describe("directed pickup (**6002)", function()
  it("takes the call ringing the endpoints the number names, groups or not", function()
    local d1, d2 = fake_dial(1, { "shop" }), fake_dial(2, { "xlite" })
    local svc = setup({ d1, d2 })
    local call = fake_call("lobby")
    assert.is_true(svc.directed(call, "6002"))
    assert.equal(call.leg, d2.picked_by)
    assert.is_nil(d1.picked_by)
  end)

  it("finds nothing for a number that rings nobody", function()
    local svc = setup({ fake_dial(1, { "shop" }) })
    local call = fake_call("lobby")
    assert.same({ nil, "none" }, { svc.directed(call, "6002") })
    assert.same({ nil, "none" }, { svc.directed(call, "9999") })
  end)
end)

describe("the pickup hook", function()
  it("sees each pickup and may refuse it", function()
    local d = fake_dial(1, { "xlite" })
    local svc = setup({ d })
    local seen
    svc.on_pickup(function(p)
      seen = p
      return p.by.endpoint ~= "bria"
    end)
    assert.same({ nil, "none" }, { svc.directed(fake_call("bria"), "6002") })
    assert.equal("directed", seen.kind)
    assert.equal("xlite", seen.endpoint)
    assert.equal(d, seen.dial)
    assert.is_true(svc.directed(fake_call("lobby"), "6002"))
    assert.has_error(function() svc.on_pickup("yes") end)
  end)
end)

describe("pickup by INVITE with Replaces", function()
  it("takes the ringing call the dialog names", function()
    local d = fake_dial(1, { "xlite" })
    local svc = setup({ d })
    local call = fake_call("lobby")
    call.replaces = d
    assert.is_true(svc.replaces(call))
    assert.equal(call.leg, d.picked_by)
  end)

  it("answers 481 when it was answered meanwhile, 603 when the hook refuses", function()
    local d = fake_dial(1, { "xlite" })
    d.status = "ANSWER"
    local svc = setup({ d })
    local call = fake_call("lobby")
    call.replaces = d
    svc.replaces(call)
    assert.equal(481, call.hung)
    local d2 = fake_dial(2, { "xlite" })
    svc.on_pickup(function(p) return p.kind ~= "replaces" end)
    local c2 = fake_call("lobby")
    c2.replaces = d2
    svc.replaces(c2)
    assert.equal(603, c2.hung)
    assert.is_nil(d2.picked_by)
  end)
end)
