-- Specification of the queues' Lua side: the strategies (who is rung), the
-- empty conditions (joinempty/leavewhenempty as app_queue reads them), a
-- member's state read from facts (a dial handle, a leg), templates and
-- member commands; _core is a fake (no calls, no database).

local function fake_core()
  local t = 1000
  local core = { logs = {}, emitted = {} }
  function core.now() return t end
  function core.advance(s) t = t + s end
  function core.log(level, msg) core.logs[#core.logs + 1] = level .. " " .. msg end
  function core.endpoint_presence(names)
    local out = {}
    for _, n in ipairs(names) do out[n] = core.pres and core.pres[n] or { contacts = 1, legs = 0 } end
    return out
  end
  function core.store_migrate() return nil, "no database here" end
  return core
end

local function load(core)
  _G._core = core
  for _, m in ipairs { "lunapbx.queue", "lunapbx.queue_state", "lunapbx.queue_caller",
                       "lunapbx.queue_strategy", "lunapbx.queue_store" } do
    package.loaded[m] = nil
  end
  return require("lunapbx.queue"), require("lunapbx.queue_state")
end

local function members(n)
  local list = {}
  for i = 1, n do
    list[i] = { name = "a" .. i, order = i, listed = n + 1 - i, calls = 0, penalty = 0,
                weight = i, skills = {} }
  end
  return list
end

describe("strategies", function()
  local S = require "lunapbx.queue_strategy"

  it("ringall rings every member offered", function()
    local m = members(3)
    assert.are.equal(3, #S.ringall { members = m })
  end)

  it("linear picks the first in the queue's order", function()
    local m = members(3)
    assert.are.equal("a1", S.linear({ members = { m[3], m[1], m[2] } })[1].name)
  end)

  it("rrmemory goes round, remembering where it stopped", function()
    local m, st, seen = members(3), {}, {}
    for i = 1, 6 do seen[i] = S.rrmemory({ members = m, state = st })[1].name end
    assert.are.same({ "a1", "a2", "a3", "a1", "a2", "a3" }, seen)
    -- a member away: skipped, the rotation goes on after it
    local r = S.rrmemory({ members = { m[1], m[3] }, state = { rr = 1 } })[1]
    assert.are.equal("a3", r.name)
  end)

  it("rrordered follows the configuration's listing", function()
    local m, st, seen = members(3), {}, {}
    for i = 1, 3 do seen[i] = S.rrordered({ members = m, state = st })[1].name end
    assert.are.same({ "a3", "a2", "a1" }, seen)
  end)

  it("leastrecent, fewestcalls and longest-idle read their own facts", function()
    local m = members(3)
    m[1].last_call, m[2].last_call, m[3].last_call = 50, 10, 30
    m[1].calls, m[2].calls, m[3].calls = 2, 5, 1
    m[1].idle_since, m[2].idle_since, m[3].idle_since = 5, 60, 40
    assert.are.equal("a2", S.leastrecent({ members = m })[1].name)
    assert.are.equal("a3", S.fewestcalls({ members = m })[1].name)
    assert.are.equal("a1", S["longest-idle"]({ members = m })[1].name)
  end)

  it("wrandom draws by weight", function()
    local m, counts = members(4), { a1 = 0, a2 = 0, a3 = 0, a4 = 0 }
    math.randomseed(7)
    for _ = 1, 10000 do
      local r = S.wrandom({ members = m })[1]
      counts[r.name] = counts[r.name] + 1
    end
    for i = 1, 4 do
      assert.is_true(math.abs(counts["a" .. i] / 10000 - i / 10) < 0.02)
    end
  end)

  it("skills keeps those who have them, the most skilled first", function()
    local m = members(3)
    m[1].skills = { german = 1 }
    m[2].skills = { german = 4, french = 1 }
    m[3].skills = { french = 5 }
    local r = S.skills({ members = m, caller = { skills = { german = 2 } } })
    assert.are.equal("a2", r[1].name)
    assert.are.equal(0, #S.skills({ members = m, caller = { skills = { dutch = 1 } } }))
  end)
end)

describe("queues", function()
  local core, queue, state

  before_each(function()
    core = fake_core()
    queue, state = load(core)
  end)

  it("templates are inherited, the queue's own fields last", function()
    queue.template "Std" { strategy = "rrmemory", timeout = 15, wrapuptime = 3 }
    queue.template "Long" { template = "Std", timeout = 30 }
    local q = queue.define "sales" { template = "Long", wrapuptime = 1, members = { "xlite" } }
    assert.are.equal("rrmemory", q.strategy)
    assert.are.equal(30, q.timeout)
    assert.are.equal(1, q.wrapuptime)
    assert.are.equal(5, q.retry)                   -- Asterisk's default
  end)

  it("bad settings are clear errors", function()
    assert.has_error(function() queue.define "x" { strategy = "nosuch" } end,
                     "queue 'x': no strategy 'nosuch'")
    assert.has_error(function() queue.define "x" { colour = "blue" } end,
                     "queue 'x': unknown field 'colour'")
    assert.has_error(function() queue.define "x" { template = "nope" } end,
                     "queue 'x': no queue template 'nope'")
  end)

  it("a member's state comes from facts: a dial handle, a leg, its wrapup", function()
    local q = queue.define "s" { wrapuptime = 5, members = { "a1" } }
    local qs = state.queue("s")
    local m = qs.members.a1
    assert.are.equal("idle", state.member_state(qs, m))
    local d = {}                        -- a dial still ringing: status nil
    m.dial = d
    assert.are.equal("ringing", state.member_state(qs, m))
    d.status = "CANCEL"                 -- its call ended: not ringing any more
    assert.are.equal("idle", state.member_state(qs, m))
    local leg = { hungup = false }
    m.leg = leg
    assert.are.equal("talking", state.member_state(qs, m))
    leg.hungup = true                   -- nobody said so: seen, counted once
    assert.are.equal("wrapup", state.member_state(qs, m))
    assert.are.equal(1, m.calls)
    assert.are.equal("wrapup", state.member_state(qs, m))
    assert.are.equal(1, m.calls)
    core.advance(5.1)
    assert.are.equal("idle", state.member_state(qs, m))
    core.pres = { a1 = { contacts = 1, legs = 1 } }
    qs.pres = nil
    assert.are.equal("inuse", state.member_state(qs, m))
    assert.is_not_nil(q)
  end)

  it("joinempty and leavewhenempty as app_queue reads them", function()
    local q = queue.define "s" { members = { "a1", "a2" } }
    local qs = state.queue("s")
    queue.pause("a1")
    queue.pause("a2")
    assert.is_nil(state.empty(q, qs, state.conditions("yes")))         -- join anyway
    assert.are.equal("EMPTY", state.empty(q, qs, state.conditions("no")))
    assert.is_nil(state.empty(q, qs, state.conditions("no", true)))     -- never leave
    assert.are.equal("EMPTY", state.empty(q, qs, state.conditions("yes", true)))
    queue.unpause("a1")
    core.pres = { a1 = { contacts = 0, legs = 0 }, a2 = { contacts = 0, legs = 0 } }
    qs.pres = nil
    queue.unpause("a2")
    assert.is_nil(state.empty(q, qs, state.conditions("no")))          -- unavailable is there
    assert.are.equal("UNAVAIL", state.empty(q, qs, state.conditions("strict")))
  end)

  it("members log in, out, pause; static ones stay", function()
    queue.define "s" { members = { "a1" } }
    assert.is_true(queue.add("s", "a2", { penalty = 2 }))
    assert.are.same({ nil, "already a member" }, { queue.add("s", "a2") })
    assert.are.same({ nil, "a static member (in the configuration)" }, { queue.remove("s", "a1") })
    assert.are.equal(1, queue.pause("a2", { reason = "lunch" }))
    assert.is_true(queue.is_paused("a2"))
    assert.are.equal(1, queue.unpause("a2"))
    assert.is_true(queue.remove("s", "a2"))
    assert.is_false(queue.is_member("s", "a2"))
    assert.are.same({ nil, "no queue nope" }, { queue.add("nope", "x") })
  end)

  it("Asterisk's words for announce_position, announce_holdtime, autopause", function()
    local q = queue.define "s" { announce_position = "more", announce_holdtime = true,
                                 autopause = "all" }
    assert.are.equal("more", q.announce_position)
    assert.are.equal("yes", q.announce_holdtime)
    assert.are.equal("all", q.autopause)
    assert.are.equal("no", queue.define("d") {}.autopause)
    assert.has_error(function() queue.define "x" { autopause = "sometimes" } end,
      "queue 'x': 'autopause' must be true, false or one of \"all\", \"no\", \"yes\"")
    assert.has_error(function() queue.define "x" { periodic_announce = { "a", 2 } } end,
      "queue 'x': periodic_announce[2] must be a prompt name")
  end)

  it("weight: a member of two queues is kept for the heavier one's callers", function()
    local light = queue.define "light" { weight = 0, members = { "a1", "a2" } }
    queue.define "heavy" { weight = 5, members = { "a1" } }
    local hs = state.queue("heavy")
    local ls = state.queue("light")
    local function names(list)
      local out = {}
      for i, m in ipairs(list) do out[i] = m.name end
      return out
    end
    assert.are.same({ "a1", "a2" }, names(state.available(light, ls)))
    hs.entries[1] = { leg = { hungup = false } }            -- a caller waits in heavy
    assert.are.same({ "a2" }, names(state.available(light, ls)))
    hs.entries[1].ringing = {}                               -- ... already ringing someone
    assert.are.same({ "a1", "a2" }, names(state.available(light, ls)))
  end)

  it("max_penalty and min_penalty bound the members offered", function()
    local q = queue.define "p" { members = { "a1", { "a2", penalty = 1 }, { "a3", penalty = 2 } } }
    local qs = state.queue("p")
    assert.are.equal("a1", state.available(q, qs)[1].name)
    assert.are.equal("a2", state.available(q, qs, nil, 1)[1].name)
    queue.pause("a1")
    queue.pause("a2")
    assert.are.equal("a3", state.available(q, qs)[1].name)
    assert.are.equal(0, #state.available(q, qs, 1))
  end)
end)

describe("announcements", function()
  local A

  before_each(function()
    _G._core = fake_core()               -- the module reads the clock it was loaded with
    package.loaded["lunapbx.queue_announce"] = nil
    A = require "lunapbx.queue_announce"
  end)

  local q = { announce_frequency = 10, min_announce_frequency = 3, periodic_announce_frequency = 7,
              periodic_announce = "p", queue_holdtime = "h", queue_lessthan = "lt",
              queue_minute = "minute", queue_minutes = "minutes" }

  it("the position on joining, every announce_frequency, sooner when it changed", function()
    local e = {}
    A.start(q, e, 100)
    assert.are.equal(100, A.position_due(q, e, 2))          -- at once
    assert.are.equal(107, e.next_periodic)
    e.pos_at, e.pos_said, e.next_announce = 100, 2, 110
    assert.are.equal(110, A.position_due(q, e, 2))          -- the same: the frequency
    assert.are.equal(103, A.position_due(q, e, 1))          -- moved up: min_announce_frequency
    assert.are.equal(103, A.next_due(q, e, 1))
    local slow = { announce_frequency = 2, min_announce_frequency = 15 }
    assert.are.equal(115, A.position_due(slow, e, 2))       -- never before the minimum
    local off = {}
    A.start({ announce_frequency = 0, periodic_announce_frequency = 0 }, off, 100)
    assert.is_nil(A.next_due(q, off, 1))
  end)

  it("the hold time: the average less the wait, in minutes; once", function()
    local st = { answered = 2, holdtime = 600 }             -- 300 s on average
    local p, n, unit = A.holdtime_prompts({ announce_holdtime = "yes", queue_holdtime = "h",
      queue_minute = "minute", queue_minutes = "minutes" }, st, 60, false)
    assert.are.same({ "h" }, p)
    assert.are.equal(4, n)
    assert.are.equal("minutes", unit)
    p, n = A.holdtime_prompts({ announce_holdtime = "yes", queue_holdtime = "h",
      queue_lessthan = "lt", queue_minute = "minute" }, st, 280, false)
    assert.are.same({ "h", "lt" }, p)
    assert.are.equal(1, n)
    assert.is_nil(A.holdtime_prompts({ announce_holdtime = "once" }, st, 60, false))
    assert.is_nil(A.holdtime_prompts({ announce_holdtime = "yes" }, st, 400, true))
    assert.is_nil(A.holdtime_prompts({ announce_holdtime = "no" }, st, 0, true))
  end)

  it("says the position as announce_position asks, then the hold time, then thanks", function()
    local played
    local call = {
      play = function(_, p) played[#played + 1] = type(p) == "table" and table.concat(p, "+") or p end,
      say_number = function(_, n) played[#played + 1] = "#" .. n end,
    }
    local function run(over, pos, st, e)
      local qq = { announce_frequency = 10, min_announce_frequency = 3,
                   periodic_announce_frequency = 0, announce_position = "yes",
                   announce_position_limit = 5, announce_holdtime = "no",
                   queue_youarenext = "next", queue_thereare = "there", queue_thankyou = "thanks",
                   queue_quantity1 = "q1", queue_quantity2 = "q2", queue_holdtime = "h",
                   queue_lessthan = "lt", queue_minute = "minute", queue_minutes = "minutes",
                   musicclass = "default" }
      for k, v in pairs(over) do qq[k] = v end
      e = e or { joined = _core.now(), leg = { hungup = false, start_moh = function() end } }
      if not e.next_announce and not e.pos_said then A.start(qq, e, _core.now()) end
      played = {}
      A.run(call, qq, { stats = st or { answered = 0, holdtime = 0 } }, e, pos, _core.now())
      return table.concat(played, " "), e
    end
    assert.are.equal("next thanks", (run({}, 1)))
    assert.are.equal("there #3 thanks", (run({}, 3)))
    assert.are.equal("q1 #5 q2 thanks", (run({ announce_position = "more" }, 7)))
    assert.are.equal("there #4 thanks", (run({ announce_position = "limit" }, 4)))
    assert.are.equal("", (run({ announce_position = "limit" }, 6)))
    local st = { answered = 1, holdtime = 200 }
    local said, e = run({ announce_position = "no", announce_holdtime = "once" }, 2, st)
    assert.are.equal("h #3 minutes thanks", said)
    _core.advance(10)
    assert.are.equal("", (run({ announce_position = "no", announce_holdtime = "once" }, 2, st, e)))
  end)

  it("plays the periodic prompts in turn, from the start or the end of the last", function()
    local played = {}
    local call = { play = function(_, p) played[#played + 1] = p _core.advance(2) end }
    local qq = { announce_frequency = 0, periodic_announce = { "p1", "p2" },
                 periodic_announce_frequency = 5, musicclass = "default" }
    local e = { leg = { hungup = false, start_moh = function() end } }
    local t0 = _core.now()
    A.start(qq, e, t0)
    A.run(call, qq, {}, e, 1, t0 + 4)
    assert.are.same({}, played)
    for _ = 1, 3 do
      _core.advance(e.next_periodic - _core.now())
      A.run(call, qq, {}, e, 1, _core.now())
    end
    assert.are.same({ "p1", "p2", "p1" }, played)
    assert.are.equal(t0 + 20, e.next_periodic)            -- every 5 s from the start
    qq.relative_periodic_announce = true
    _core.advance(e.next_periodic - _core.now())
    A.run(call, qq, {}, e, 1, _core.now())
    assert.are.equal(t0 + 27, e.next_periodic)            -- 5 s after it ended
  end)
end)
