-- Specification of lunapbx.api, the HTTP/WebSocket commands written in
-- Lua: their checks, the leg's redirect into context lunapbx-api, and the
-- job its call then does; park and the queue's commands dispatched to
-- their modules.  The core and the modules are fakes.

describe("lunapbx.api", function()
  local api, core, redirected, logs

  before_each(function()
    redirected, logs = {}, {}
    core = {
      legs = { [5] = { id = 5 }, [6] = { id = 6 } },
      leg = function(id) return core.legs[id] end,
      leg_redirect = function(id, exten, context)
        redirected[#redirected + 1] = { id, exten, context }
        return true
      end,
    }
    _G._core = core
    package.loaded["lunapbx.api"] = nil
    package.loaded["lunapbx.queue"] = nil
    package.loaded["lunapbx.parking"] = nil
    api = require("lunapbx.api").new(function(...) logs[#logs + 1] = { ... } end)
  end)

  it("checks a command's fields before the leg moves", function()
    local C = api.commands
    assert.same({ nil, '"leg": a leg id is needed' }, { C.play { sound = "x" } })
    assert.same({ nil, "no such leg" }, { C.play { leg = 9, sound = "x" } })
    assert.same({ nil, '"sound": a sound name or a list' }, { C.play { leg = 5 } })
    assert.same({ nil, '"sound": names (strings)' }, { C.play { leg = 5, sound = { 1 } } })
    assert.same({ nil, '"file": a name' }, { C.record { leg = 5 } })
    assert.same({ nil, '"max_seconds": seconds' }, { C.record { leg = 5, file = "f", max_seconds = -1 } })
    assert.same({ nil, '"with": no such leg' }, { C.bridge { leg = 5, with = 7 } })
    assert.same({ nil, "a leg is not bridged with itself" }, { C.bridge { leg = 5, with = 5 } })
    assert.equal(0, #redirected)
  end)

  it("moves the leg into a call of its own that does the job, then goes on", function()
    local r = api.commands.play { leg = "5", sound = "hello", exten = "100", context = "internal" }
    assert.same({ leg = 5 }, r)
    assert.same({ { 5, "1", "lunapbx-api" } }, redirected)
    local done = {}
    local leg = { id = 5, state = "answered", context = "internal" }
    function leg:redirect(exten, context) done[#done + 1] = "redirect " .. exten .. "@" .. context return true end
    local call = { exten = "1", leg = leg }
    function call:play(s) done[#done + 1] = "play " .. table.concat(s, ",") end
    function call:hangup() done[#done + 1] = "hangup" end
    api.run(call)
    assert.same({ "play hello", "redirect 100@internal" }, done)
    done = {}
    api.run(call)                       -- a job runs once: then nothing to do
    assert.same({ "hangup" }, done)
  end)

  it("parks through lunapbx.parking, the space back", function()
    assert.same({ nil, "park: no parking lot configured (lunapbx.parking)" },
                { api.commands.park { leg = 5 } })
    local parked
    local lot = { name = "default" }
    function lot:park(leg, opts) parked = { leg.id, opts.parker } return "701" end
    package.loaded["lunapbx.parking"] = {
      lots = function() return { default = lot } end,
      get = function(name) return name == "default" and lot or nil end,
    }
    assert.same({ leg = 5, lot = "default", slot = "701" },
                api.commands.park { leg = 5, parker = "bob" })
    assert.same({ 5, "bob" }, parked)
    assert.same({ nil, "no lot 'vip'" }, { api.commands.park { leg = 5, lot = "vip" } })
  end)

  it("sends the queue's commands to lunapbx.queue", function()
    assert.same({ nil, "add: no queue configured (lunapbx.queue)" },
                { api.commands.queue_add { queue = "q", member = "m" } })
    local calls = {}
    package.loaded["lunapbx.queue"] = {
      names = function() return { "support" } end,
      add = function(q, m, o) calls[#calls + 1] = { "add", q, m, o.penalty } return true end,
      remove = function(q, m) calls[#calls + 1] = { "remove", q, m } return nil, "not a member" end,
      pause = function(m, o) calls[#calls + 1] = { "pause", m, o.queue, o.reason } return true end,
      unpause = function(m, o) calls[#calls + 1] = { "unpause", m, o.queue } return true end,
    }
    assert.same({ done = true }, api.commands.queue_add { queue = "support", member = "xlite", penalty = 2 })
    assert.same({ nil, "not a member" }, { api.commands.queue_remove { queue = "support", member = "x" } })
    assert.same({ done = true }, api.commands.queue_pause { member = "xlite", reason = "lunch" })
    assert.same({ done = true }, api.commands.queue_pause { member = "xlite", paused = false })
    assert.same({ nil, '"member" is needed' }, { api.commands.queue_pause {} })
    assert.same({ { "add", "support", "xlite", 2 }, { "remove", "support", "x" },
                  { "pause", "xlite", nil, "lunch" }, { "unpause", "xlite", nil } }, calls)
  end)
end)
