-- Specification of the Lua side of media: say_number wording (English and
-- French), say_digits, tone zones, call:collect and the IVR helper.  The
-- C primitives (play, read_digit, dial) are played by a scripted fake call.
local numbers = require "lunapbx.numbers"
local tones = require "lunapbx.tones"
local media = require "lunapbx.media"
local dialplan = require "lunapbx.dialplan"

-- A fake call.  `keys` is what the caller does, in order: a digit ("1")
-- is pressed at the next play with interrupt or the next read_digit;
-- false is a read_digit that times out; "hangup" hangs up.
local function fake_call(keys, extra)
  local call = { vars = {}, state = "answered", hungup = false,
                 played = {}, reads = {}, dialled = {}, answered = 0 }
  local methods = media.methods(extra or {})
  local q = keys or {}
  local function head() return q[1] end
  function call:play(names, opts)
    self.played[#self.played + 1] = type(names) == "table" and table.concat(names, " ") or names
    if self.hungup then return nil, "hangup" end
    if head() == "hangup" then table.remove(q, 1); self.hungup = true; return nil, "hangup" end
    if opts and opts.interrupt and type(head()) == "string" then
      return table.remove(q, 1), "digit"
    end
    return nil, "done"
  end
  function call:read_digit(timeout)
    self.reads[#self.reads + 1] = timeout
    if self.hungup then return nil, "hangup" end
    local k = table.remove(q, 1)
    if k == "hangup" then self.hungup = true; return nil, "hangup" end
    if k then return k, "digit" end
    return nil, "timeout"
  end
  function call:playtones(spec, secs) self.tones = { spec, secs }; return nil, "timeout" end
  function call:dial(target) self.dialled[#self.dialled + 1] = target; return "ANSWER", 200 end
  function call:answer() self.answered = self.answered + 1; self.state = "answered" end
  for name, fn in pairs(methods) do call[name] = fn end
  return call
end

describe("say_number wording", function()
  local function say(n, lang, opts)
    local t = numbers.prompts(n, lang, opts)
    for i, p in ipairs(t) do t[i] = p:gsub("^digits/", "") end
    return table.concat(t, " ")
  end
  -- { n, english, french }
  local rows = {
    { 0, "0", "0" },
    { 7, "7", "7" },
    { 21, "21", "21" },
    { 80, "80", "80" },
    { 99, "99", "99" },
    { 100, "1 hundred", "hundred" },
    { 101, "1 hundred 1", "hundred 1" },
    { 200, "2 hundred", "2 hundreds" },
    { 201, "2 hundred 1", "2 hundred 1" },
    { 999, "9 hundred 99", "9 hundred 99" },
    { 1000, "1 thousand", "thousand" },
    { 1001, "1 thousand 1", "thousand 1" },
    { 1981, "1 thousand 9 hundred 81", "thousand 9 hundred 81" },
    { 2000, "2 thousand", "2 thousand" },
    { 2100, "2 thousand 1 hundred", "2 thousand hundred" },
    { 21000, "21 thousand", "21 thousand" },
    { 200000, "2 hundred thousand", "2 hundred thousand" },
    { 300500, "3 hundred thousand 5 hundred", "3 hundred thousand 5 hundreds" },
    { 1000000, "1 million", "1 million" },
    { 2000000, "2 million", "2 millions" },
    { 1200300, "1 million 2 hundred thousand 3 hundred",
      "1 million 2 hundred thousand 3 hundreds" },
    { -5, "minus 5", "minus 5" },
  }
  for _, r in ipairs(rows) do
    it(("%d in English: %s"):format(r[1], r[2]), function()
      assert.are.equal(r[2], say(r[1], "en"))
    end)
    it(("%d in French: %s"):format(r[1], r[3]), function()
      assert.are.equal(r[3], say(r[1], "fr"))
    end)
  end
  it("French feminine one is 'une' (1F), only for a final 1", function()
    assert.are.equal("1F", say(1, "fr", { feminine = true }))
    assert.are.equal("hundred 1F", say(101, "fr", { feminine = true }))
    assert.are.equal("21", say(21, "fr", { feminine = true }))
  end)
  it("other languages use the English rules", function()
    assert.are.equal("1 thousand 9 hundred 81", say(1981, "de"))
  end)
  it("floats with an integral value are fine, others are an error", function()
    assert.are.equal("42", say(42.0, "en"))
    assert.has_error(function() numbers.prompts(1.5, "en") end)
    assert.has_error(function() numbers.prompts("12", "en") end)
  end)
  it("every prompt it names exists in prompts.txt", function()
    local names = {}
    for line in io.lines("sounds/prompts.txt") do
      local name = line:match("^([%w/_+-]+)%s*|")
      if name then names[name] = true end
    end
    for _, n in ipairs { 0, 1, 21, 100, 200, 1001, 2000000, -7 } do
      for _, lang in ipairs { "en", "fr" } do
        for _, p in ipairs(numbers.prompts(n, lang, { feminine = true })) do
          assert.is_true(names[p] ~= nil, p .. " is missing from sounds/prompts.txt")
        end
      end
    end
    for _, p in ipairs(numbers.digits("0123456789*#")) do
      assert.is_true(names[p] ~= nil, p)
    end
  end)
end)

describe("say_digits", function()
  it("one prompt per key", function()
    assert.are.same({ "digits/1", "digits/2", "digits/star", "digits/pound" },
                    numbers.digits("12*#"))
    assert.are.same({ "digits/6", "digits/0" }, numbers.digits(60))
  end)
  it("refuses what is no key", function()
    assert.has_error(function() numbers.digits("12a") end)
  end)
  it("call:say_digits and call:say_number play the list in the caller's language", function()
    local call = fake_call()
    call.vars.language = "fr"
    call:say_number(1000)
    call:say_digits("42")
    assert.are.same({ "digits/thousand", "digits/4 digits/2" }, call.played)
  end)
end)

describe("tones", function()
  it("names resolve per zone", function()
    assert.are.equal("440+480/2000,0/4000", tones.spec("ring", "us"))
    assert.are.equal("440/1500,0/3500", tones.spec("ring", "fr"))
    assert.are.equal("0", tones.spec("silence", "de"))
  end)
  it("a spec passes through; unknown names and zones are errors", function()
    assert.are.equal("425/500,0/500", tones.spec("425/500,0/500", "fr"))
    assert.is_nil((tones.spec("ringgg", "us")))
    assert.is_nil((tones.spec("ring", "xx")))
  end)
  it("call:tone picks the zone: vars, settings, then the language", function()
    local call = fake_call()
    call:tone("busy", 2)
    assert.are.same({ "480+620/500,0/500", 2 }, call.tones)
    call.vars.language = "fr"
    call:tone("busy", 3)
    assert.are.same({ "440/500,0/500", 3 }, call.tones)
    call.vars.tonezone = "uk"
    call:tone("busy")
    assert.are.equal("400/375,0/375", call.tones[1])
    local c2 = fake_call(nil, { tonezone = "de" })
    c2:tone("ring")
    assert.are.equal("425/1000,0/4000", c2.tones[1])
    assert.has_error(function() call:tone("nope") end)
  end)
  it("call:silence is the tone 0", function()
    local call = fake_call()
    call:silence(1.5)
    assert.are.same({ "0", 1.5 }, call.tones)
  end)
end)

describe("call:collect", function()
  it("a key during the prompt stops it and counts", function()
    local call = fake_call { "3" }
    assert.are.equal("3", call:collect { prompt = "menu2", max = 1 })
    assert.are.same({ "menu2" }, call.played)
    assert.are.same({}, call.reads)
  end)
  it("more keys until the terminator, first timeout then interdigit", function()
    local call = fake_call { "6", "0", "0", "1", "#" }
    assert.are.equal("6001", call:collect { prompt = "enter-extension", timeout = 7, interdigit = 2 })
    assert.are.same({ 2, 2, 2, 2 }, call.reads)
    call = fake_call { false }
    call:collect { timeout = 7 }
    assert.are.same({ 7 }, call.reads)
  end)
  it("stops at max, or as soon as complete() says so", function()
    local call = fake_call { "1", "2", "3", "4" }
    assert.are.equal("123", call:collect { max = 3 })
    call = fake_call { "1", "2", "3" }
    assert.are.equal("12", call:collect { complete = function(d) return #d == 2 end })
  end)
  it("an interdigit timeout ends the entry", function()
    local call = fake_call { "4", "2", false }
    assert.are.equal("42", call:collect {})
  end)
  it("no input: the no_input prompt, then another try", function()
    local call = fake_call { false, "5" }
    assert.are.equal("5", call:collect { prompt = "p", no_input = "no-input", tries = 2, max = 1 })
    assert.are.same({ "p", "no-input", "p" }, call.played)
  end)
  it("no_input = false: no retry on silence", function()
    local call = fake_call { false, "5" }
    assert.are.same({ nil, "timeout" }, { call:collect { prompt = "p", no_input = false, tries = 3 } })
    assert.are.same({ "p" }, call.played)
  end)
  it("invalid entries: the invalid prompt each time, then nil, 'invalid'", function()
    local call = fake_call { "9", "8" }
    local d, why = call:collect { prompt = "p", valid = "^[123]$", invalid = "invalid", tries = 2, max = 1 }
    assert.is_nil(d)
    assert.are.equal("invalid", why)
    assert.are.same({ "p", "invalid", "p", "invalid" }, call.played)
  end)
  it("valid as a pattern, a list, a set or a function", function()
    assert.are.equal("2", fake_call({ "2" }):collect { max = 1, valid = "^[12]$" })
    assert.are.equal("12", fake_call({ "1", "2", "#" }):collect { valid = { "12", "13" } })
    assert.are.equal("13", fake_call({ "1", "3", "#" }):collect { valid = { ["13"] = true } })
    assert.are.equal("7", fake_call({ "7" }):collect { max = 1, valid = function(d) return d == "7" end })
    assert.has_error(function() fake_call({ "7" }):collect { max = 1, valid = 7 } end)
  end)
  it("min: too few digits is invalid", function()
    local d, why = fake_call({ "1", "#" }):collect { min = 2 }
    assert.is_nil(d)
    assert.are.equal("invalid", why)
  end)
  it("the terminator alone is no input; terminator=false makes # a digit", function()
    assert.are.same({ nil, "timeout" }, { fake_call({ "#" }):collect { prompt = "p" } })
    assert.are.equal("1#", fake_call({ "1", "#", false }):collect { terminator = false })
  end)
  it("a hangup ends it at once", function()
    local call = fake_call { "1", "hangup" }
    assert.are.same({ nil, "hangup" }, { call:collect { tries = 3 } })
    call = fake_call { "hangup" }
    assert.are.same({ nil, "hangup" }, { call:collect { prompt = "p", tries = 3 } })
    assert.are.same({ "p" }, call.played)
  end)
end)

describe("ivr.menu", function()
  local branch
  local dp = dialplan.new()
  dp:add_context("aa", {
    ["6000"] = function(_, d) branch = "6000:" .. d return "six-thousand" end,
    ["_6XXX"] = function(_, d) branch = "6XXX:" .. d end,
    ["42"] = function(_, d) branch = "42:" .. d end,
    ["421"] = function(_, d) branch = "421:" .. d end,
  })
  package.loaded.lunapbx = {
    match = function(c, e) return dp:match(c, e) end,
    matchmore = function(c, e) return dp:matchmore(c, e) end,
  }
  local ivr = require "lunapbx.ivr"
  before_each(function() branch = nil end)

  it("the caller dials an extension of the context while the menu plays", function()
    local call = fake_call { "6", "0", "0", "1" }
    ivr.menu(call, { prompt = "menu1", context = "aa" })
    assert.are.equal("6XXX:6001", branch)
    assert.are.equal("6001", call.vars.ivr_choice)
  end)
  it("exact beats pattern, and the branch's result is returned", function()
    local call = fake_call { "6", "0", "0", "0" }
    assert.are.equal("six-thousand", ivr.menu(call, { prompt = "menu1", context = "aa" }))
    assert.are.equal("6000:6000", branch)
  end)
  it("an entry that could go on waits interdigit, then takes what matches", function()
    local call = fake_call { "4", "2", false }
    ivr.menu(call, { prompt = "m", context = "aa", interdigit = 2 })
    assert.are.equal("42:42", branch)
    assert.are.same({ 2, 2 }, call.reads)   -- the 4 stopped the prompt
    call = fake_call { "4", "2", "#" }
    ivr.menu(call, { prompt = "m", context = "aa" })
    assert.are.equal("42:42", branch)
  end)
  it("options: a key dials an endpoint or runs a function", function()
    local call = fake_call { "1" }
    ivr.menu(call, { prompt = "menu2", options = { ["1"] = "amine", ["2"] = { "a", "b" } } })
    assert.are.same({ "amine" }, call.dialled)
    call = fake_call { "3" }
    ivr.menu(call, { prompt = "menu2", options = { ["3"] = function(_, d) branch = "fn" .. d end } })
    assert.are.equal("fn3", branch)
  end)
  it("silence: straight to the fallback when no_input = false (operator after 10 s)", function()
    local call = fake_call { false }
    ivr.menu(call, { prompt = "menu1", context = "aa", timeout = 10, no_input = false,
                     fallback = "operator" })
    assert.are.same({ 10 }, call.reads)
    assert.are.same({ "operator" }, call.dialled)
  end)
  it("invalid entries: prompt and retries, then the fallback is told why", function()
    local why
    local call = fake_call { "9", "5", "7" }
    ivr.menu(call, { prompt = "menu2", options = { ["1"] = "a" }, invalid = "invalid", tries = 3,
                     fallback = function(_, w) why = w end })
    assert.are.equal("invalid", why)
    assert.are.same({ "menu2", "invalid", "menu2", "invalid", "menu2", "invalid" }, call.played)
  end)
  it("a wrong first key, then a right one", function()
    local call = fake_call { "9", "2" }
    ivr.menu(call, { prompt = "menu2", options = { ["1"] = "a", ["2"] = "b" }, invalid = "invalid" })
    assert.are.same({ "b" }, call.dialled)
  end)
  it("a hangup: no fallback", function()
    local call = fake_call { "hangup" }
    assert.are.same({ nil, "hangup" }, { ivr.menu(call, { prompt = "m", context = "aa", fallback = "op" }) })
    assert.are.same({}, call.dialled)
  end)
  it("answers the call first when needed", function()
    local call = fake_call { "1" }
    call.state = "incoming"
    ivr.menu(call, { options = { ["1"] = "a" } })
    assert.are.equal(1, call.answered)
  end)
  it("checks its options", function()
    assert.has_error(function() ivr.menu(fake_call(), { prompt = "m" }) end)
    assert.has_error(function() ivr.menu(fake_call { "1" }, { options = { ["1"] = 5 } }) end)
  end)
end)

describe("dialplan matchmore", function()
  local dp = dialplan.new()
  dp:add_context("c", { ["6000"] = function() end, ["_7."] = function() end,
                        ["_9[1-3]X"] = function() end, include = "d" })
  dp:add_context("d", { ["_8XX"] = function() end })
  local rows = {
    { "6", true }, { "600", true }, { "6000", false }, { "5", false },
    { "7", true }, { "71", true }, { "9", true }, { "94", false }, { "925", false },
    { "8", true }, { "81", true }, { "812", false }, { "", true },
  }
  for _, r in ipairs(rows) do
    it(("'%s' %s"):format(r[1], r[2] and "can go on" or "cannot go on"), function()
      assert.are.equal(r[2], dp:matchmore("c", r[1]))
    end)
  end
end)
