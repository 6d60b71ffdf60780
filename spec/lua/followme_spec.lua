-- Specification of FollowMe's Lua side (lunapbx.followme): declarations,
-- the steps rung in order (numbers of a step together), the callee's
-- choice (1 takes, 2 declines), the caller leaving, nobody taking it.  The
-- core's dials and waits are fakes driven by a script of events.

local function fake_leg(name, keys)
  local leg = { name = name, id = #name, hungup = false, heard = {}, keys = keys or {} }
  function leg:play(p, opts)
    self.heard[#self.heard + 1] = p
    if opts and opts.interrupt and #self.keys > 0 then
      return table.remove(self.keys, 1), "digit"
    end
    return nil, "done"
  end
  function leg:say_digits(d) self.heard[#self.heard + 1] = "digits " .. d end
  function leg:read_digit() return table.remove(self.keys, 1), "timeout" end
  function leg:hangup() self.hungup = true end
  function leg:answer() self.answered = true end
  function leg:start_moh() self.moh = true end
  function leg:stop_moh() self.moh = false end
  return leg
end

-- The core: dials by target name; core.wait plays the script: each entry
-- { "answer", "amine" } answers amine's dial with a leg, { "noanswer",
-- "amine" } ends it, "hangup" is the caller leaving.
local function fake_core(script, legs)
  local core = { dials = {}, log = function() end, bridges = {} }
  function core.dial(target, opts)
    local d = { target = type(target) == "table" and target[1] or target, opts = opts }
    function d:cancel() if not self.status then self.status = "CANCEL" end self.cancelled = true end
    core.dials[#core.dials + 1] = d
    return d
  end
  function core.wait(caller, ...)
    local dials = { ... }
    local ev = table.remove(script, 1)
    if ev == "hangup" or ev == nil then caller.hungup = true return caller, "hangup" end
    for _, d in ipairs(dials) do
      if d.target == ev[2] then
        if ev[1] == "answer" then
          d.status, d.leg = "ANSWER", legs[ev[2]]
          return d, "ANSWER", 200, d.leg
        end
        d.status = "NOANSWER"
        return d, "NOANSWER", 480
      end
    end
    error("the script waits for " .. ev[2] .. ", who does not ring")
  end
  function core.bridge(a, b)
    local br = { count = 2, legs = { a, b } }
    core.bridges[#core.bridges + 1] = br
    function br:wait() self.count = 1 return "hangup", a end
    function br:hangup() self.hung = true end
    return br
  end
  return core
end

local function setup(script, legs)
  _G._core = fake_core(script, legs)
  package.loaded["lunapbx.followme"] = nil
  package.loaded["lunapbx"] = { endpoints_of = function(n)
    return ({ ["100"] = { "amine" }, ["900"] = { "chhiny" }, ["6004"] = { "bria" } })[n]
  end }
  return require "lunapbx.followme"
end

local function fake_call()
  local leg = fake_leg("caller")
  return { id = 1, leg = leg, caller = "6002", caller_name = "Xlite" }, leg
end

-- the fakes put in package.loaded go: other specs load the real modules
after_each(function()
  package.loaded["lunapbx"] = nil
  package.loaded["lunapbx.voicemail"] = nil
end)

describe("followme.user", function()
  it("takes Asterisk's defaults and checks its fields", function()
    local fm = setup({}, {})
    local u = fm.user "6001" { numbers = { { "100", timeout = 15 }, "900" } }
    assert.equal("1", u.takecall)
    assert.equal("2", u.declinecall)
    assert.same({ "900" }, u.numbers[2])
    assert.has_error(function() fm.user "x" {} end)
    assert.has_error(function() fm.user "x" { numbers = { { "100", timeout = -1 } } } end)
    assert.has_error(function() fm.user "x" { numbers = {}, takecall = "12" } end)
    assert.has_error(function() fm.user "x" { numbers = {}, colour = "red" } end)
  end)
end)

describe("FollowMe", function()
  it("declined with 2 goes on to the next number, which takes it with 1", function()
    local amine, chhiny = fake_leg("amine", { "2" }), fake_leg("chhiny", { "1" })
    local fm = setup({ { "answer", "amine" }, { "answer", "chhiny" } },
                     { amine = amine, chhiny = chhiny })
    fm.user "6001" { numbers = { { "100", timeout = 15 }, { "900", timeout = 15 } } }
    local call, caller = fake_call()
    assert.equal("ANSWER", fm.run(call, "6001"))
    assert.is_true(caller.answered)
    assert.same({ "followme-call-from", "digits 6002", "followme-accept" }, amine.heard)
    assert.is_true(amine.hungup)
    local br = _core.bridges[1]
    assert.same({ caller, chhiny }, br.legs)
    assert.is_false(caller.moh)                -- the music stopped
    assert.equal("amine", _core.dials[1].target)
    assert.equal(15, _core.dials[1].opts.timeout)
    assert.equal("6002", _core.dials[1].opts.caller_num)
  end)

  it("rings a step's numbers together; the others stop when one takes it", function()
    local bria = fake_leg("bria", { "1" })
    local fm = setup({ { "answer", "bria" } }, { bria = bria })
    fm.user "6001" { numbers = { { "100", "6004", timeout = 20 } } }
    assert.equal("ANSWER", fm.run(fake_call(), "6001"))
    assert.equal(2, #_core.dials)
    assert.is_true(_core.dials[1].cancelled)   -- amine's
  end)

  it("moves on after a step's time, and says NOANSWER when nobody takes it", function()
    local fm = setup({ { "noanswer", "amine" }, { "noanswer", "chhiny" } }, {})
    fm.user "6001" { numbers = { { "100" }, { "900" } } }
    local call, caller = fake_call()
    assert.equal("NOANSWER", fm.run(call, "6001"))
    assert.equal(2, #_core.dials)
    assert.is_false(caller.moh)
  end)

  it("counts silence as a decline", function()
    local amine = fake_leg("amine", {})
    local fm = setup({ { "answer", "amine" } }, { amine = amine })
    fm.user "6001" { numbers = { "100" } }
    assert.equal("NOANSWER", fm.run(fake_call(), "6001"))
    assert.is_true(amine.hungup)
  end)

  it("stops everything when the caller hangs up", function()
    local fm = setup({ "hangup" }, {})
    fm.user "6001" { numbers = { { "100", "900" } } }
    assert.same({ nil, "hangup" }, { fm.run(fake_call(), "6001") })
    assert.is_true(_core.dials[1].cancelled and _core.dials[2].cancelled)
  end)

  it("takes its list from a function of the call", function()
    local chhiny = fake_leg("chhiny", { "1" })
    local fm = setup({ { "answer", "chhiny" } }, { chhiny = chhiny })
    fm.user "6001" { numbers = function(call)
      return call.caller == "6002" and { { "900", timeout = 5 } } or { { "100" } }
    end }
    assert.equal("ANSWER", fm.run(fake_call(), "6001"))
    assert.equal("chhiny", _core.dials[1].target)
    assert.equal(5, _core.dials[1].opts.timeout)
  end)
end)
