-- Specification of lunapbx.dialplan: Asterisk extension patterns, precedence,
-- contexts and includes.  Each table below is the feature's definition; the
-- `it` blocks only run the rows.
local dialplan = require "lunapbx.dialplan"

-- A distinct function per key, so a test can tell which one matched.
local function handler() return function() end end

local function yes_no(b) return b and "matches" or "does not match" end

it("runs under Lua 5.4 (the version the C core embeds)", function()
  assert.are.equal("Lua 5.4", _VERSION)
end)

describe("extension pattern elements", function()
  -- { key, exten, should_match }
  local rows = {
    -- literal extensions (no '_'): exact string match
    { "6000",      "6000",      true  },
    { "6000",      "600",       false },
    { "6000",      "60000",     false },
    { "s",         "s",         true  },
    { "s",         "S",         false },
    { "*8",        "*8",        true  },
    { "#",         "#",         true  },
    { "+33123",    "+33123",    true  },
    { "XXX",       "123",       false },  -- no '_': X is just a letter
    -- X = [0-9]
    { "_X",        "0",         true  },
    { "_X",        "9",         true  },
    { "_X",        "a",         false },
    { "_X",        "",          false },
    { "_XX",       "1",         false },
    { "_XX",       "123",       false },
    { "_x",        "5",         true  },  -- X, Z, N are case-insensitive
    -- Z = [1-9]
    { "_Z",        "0",         false },
    { "_Z",        "1",         true  },
    { "_Z",        "9",         true  },
    { "_z",        "1",         true  },
    -- N = [2-9]
    { "_N",        "1",         false },
    { "_N",        "2",         true  },
    { "_N",        "9",         true  },
    { "_n",        "0",         false },
    { "_NXXNXXXXXX", "2125551234", true },
    { "_NXXNXXXXXX", "2121551234", false },
    -- [...] classes, '-' inside is a range
    { "_[1-5]",    "1",         true  },
    { "_[1-5]",    "5",         true  },
    { "_[1-5]",    "6",         false },
    { "_[123]",    "2",         true  },
    { "_[123]",    "4",         false },
    { "_[1-37-9]", "3",         true  },
    { "_[1-37-9]", "5",         false },
    { "_[1-37-9]", "8",         true  },
    { "_[a-c]X",   "b1",        true  },
    { "_[*#]",     "#",         true  },
    { "_[-5]",     "-",         true  },  -- leading '-' is literal
    { "_[5-]",     "-",         true  },  -- trailing '-' is literal
    { "_[5-]",     "4",         false },
    -- '.' = one or more remaining characters
    { "_9.",       "9",         false },
    { "_9.",       "91",        true  },
    { "_9.",       "9*5#abc",   true  },
    { "_.",        "",          false },
    { "_.",        "x",         true  },
    -- '!' = zero or more remaining characters
    { "_9!",       "9",         true  },
    { "_9!",       "91234",     true  },
    { "_9!",       "8",         false },
    { "_!",        "",          true  },
    -- other letters are literal and case-sensitive
    { "_sX",       "s1",        true  },
    { "_sX",       "S1",        false },
    { "_abc",      "abc",       true  },
    { "_abc",      "ab",        false },
    -- '*', '#', '+' are ordinary literals
    { "_*XX",      "*21",       true  },
    { "_*XX",      "121",       false },
    { "_#X",       "#1",        true  },
    { "_X*",       "5*",        true  },
    { "_+33.",     "+33123",    true  },
    { "_+33.",     "33123",     false },
    -- '-' outside [] is ignored (as in Asterisk), for readability
    { "_NXX-XXXX", "5551234",   true  },
    { "_NXX-XXXX", "555-1234",  false },
    -- Lua pattern magic characters are plain literals
    { "_%X",       "%5",        true  },
    { "_(X)",      "(1)",       true  },
    { "_X$",       "1$",        true  },
    { "_^X",       "^1",        true  },
    { "_[^a]",     "^",         true  },  -- '^' is not a negation
    { "_[^a]",     "b",         false },
  }

  for _, row in ipairs(rows) do
    local key, exten, expected = row[1], row[2], row[3]
    it(("%s %s %q"):format(key, yes_no(expected), exten), function()
      local m = assert(dialplan.compile(key))
      assert.are.equal(expected, m(exten))
      assert.are.equal(expected, m:match(exten))

      -- the same answer through a context
      local dp, fn = dialplan.new(), handler()
      dp:add_context("c", { [key] = fn })
      assert.are.equal(expected and fn or nil, (dp:match("c", exten)))
    end)
  end
end)

describe("precedence", function()
  -- { keys in one context, { exten, expected winner, why } ... }
  local cases = {
    { { "6000", "_6XXX", "_6.", "_60XX", "_[5-6]XXX", "_!" }, {
      { "6000",   "6000",      "a literal beats every pattern" },
      { "6001",   "_60XX",     "2nd position: literal '0' beats X and '.'" },
      { "6100",   "_6XXX",     "literal '6' beats [5-6], then X beats '.'" },
      { "5100",   "_[5-6]XXX", "only [5-6] accepts '5' of four digits" },
      { "61",     "_6.",       "too short for the XXX patterns" },
      { "610000", "_6.",       "too long for the XXX patterns" },
      { "6",      "_!",        "'.' needs at least one more character" },
      { "7000",   "_!",        "nothing else starts with 7" },
      { "",       "_!",        "'!' accepts the empty extension" },
    } },
    { { "_[2-3]", "_N", "_Z", "_X", "_.", "_!" }, {
      { "2",      "_[2-3]",    "a 2-char class beats N (8 chars)" },
      { "4",      "_N",        "N (8) beats Z (9)" },
      { "1",      "_Z",        "Z (9) beats X (10)" },
      { "0",      "_X",        "X (10) beats '.'" },
      { "a",      "_.",        "'.' beats '!'" },
    } },
    { { "_[1-9]", "_N", "_[0-9a]", "_X" }, {
      { "5",      "_N",        "N (8 chars) beats [1-9] (9 chars)" },
      { "1",      "_[1-9]",    "[1-9] (9 chars) beats X (10 chars)" },
      { "0",      "_X",        "X (10 chars) beats [0-9a] (11 chars)" },
      { "a",      "_[0-9a]",   "only one accepts 'a'" },
    } },
    { { "_9.", "_9!" }, {
      { "91",     "_9.",       "'.' is more specific than '!'" },
      { "9",      "_9!",       "'.' needs one more character" },
    } },
    { { "_6X", "_6X!" }, {
      { "61",     "_6X",       "a pattern that ends beats a trailing '!'" },
      { "612",    "_6X!",      "only '!' takes more characters" },
    } },
    { { "_NXXXXXX", "_555XXXX" }, {
      { "5551234", "_555XXXX", "leftmost difference decides: literal beats N" },
      { "5561234", "_NXXXXXX", "only one matches" },
    } },
    -- ties: same weights everywhere -> lower characters first, then the key
    { { "_[15]", "_[31]" }, {
      { "1",      "_[31]",     "equal-size classes: the lower set {1,3} wins" },
    } },
    { { "_6xxx", "_6XXX" }, {
      { "6123",   "_6XXX",     "identical patterns: byte order of the key" },
    } },
    { { "_[21]", "_[12]" }, {
      { "1",      "_[12]",     "same set written twice: byte order of the key" },
    } },
    { { "_[6]X", "_6X" }, {
      { "61",     "_6X",       "'[6]' is as specific as '6': byte order of the key" },
    } },
  }

  for _, case in ipairs(cases) do
    local keys, rows = case[1], case[2]
    describe("among " .. table.concat(keys, " "), function()
      local dp, fns = dialplan.new(), {}
      local tbl = {}
      for _, k in ipairs(keys) do fns[k] = handler(); tbl[k] = fns[k] end
      dp:add_context("c", tbl)

      for _, row in ipairs(rows) do
        local exten, winner, why = row[1], row[2], row[3]
        it(("%q -> %s (%s)"):format(exten, winner, why), function()
          local fn, info = dp:match("c", exten)
          assert.are.same({ context = "c", pattern = winner }, info)
          assert.are.equal(fns[winner], fn)
        end)
      end
    end)
  end

  it("does not depend on the order of the Lua table's keys", function()
    -- Filler keys change the hash layout, and so the order pairs() sees.
    for n = 0, 40 do
      local tbl = { ["_6xxx"] = handler(), ["_6XXX"] = handler(), ["_[31]X"] = handler(),
                    ["_[15]X"] = handler() }
      for i = 1, n do tbl["7" .. i] = handler() end
      local dp = dialplan.new()
      dp:add_context("c", tbl)
      assert.are.equal("_6XXX", select(2, dp:match("c", "6123")).pattern)
      assert.are.equal("_[31]X", select(2, dp:match("c", "11")).pattern)
    end
  end)
end)

describe("includes", function()
  -- { description, contexts (added in this order), exten, winning context, key }
  local F = handler  -- shorthand
  local rows = {
    { "own patterns come before an included literal",
      { { "a", { ["_X."] = F(), include = "b" } }, { "b", { ["6000"] = F() } } },
      "6000", "a", "_X." },
    { "a single name or a list",
      { { "a", { include = { "b" } } }, { "b", { ["6000"] = F() } } },
      "6000", "b", "6000" },
    { "includes are searched in the order listed",
      { { "a", { include = { "c", "b" } } }, { "b", { ["6000"] = F() } },
        { "c", { ["_6XXX"] = F() } } },
      "6000", "c", "_6XXX" },
    { "depth-first: a nested include before the next sibling",
      { { "a", { include = { "b", "c" } } }, { "b", { include = "d" } },
        { "c", { ["6000"] = F() } }, { "d", { ["_X!"] = F() } } },
      "6000", "d", "_X!" },
    { "falls through to later includes",
      { { "a", { ["_9."] = F(), include = { "b", "c" } } }, { "b", { ["_8."] = F() } },
        { "c", { ["_7."] = F() } } },
      "700", "c", "_7." },
    { "include cycles are skipped",
      { { "a", { include = { "b", "c" } } }, { "b", { include = { "a", "b" } } },
        { "c", { ["s"] = F(), include = "a" } } },
      "s", "c", "s" },
    { "a cycle with no match ends with nil",
      { { "a", { include = "b" } }, { "b", { include = "a" } } },
      "6000", nil, nil },
    { "an unknown include matches nothing",
      { { "a", { include = { "nope", "b" } } }, { "b", { ["6000"] = F() } } },
      "6000", "b", "6000" },
    { "a context may be added after the one that includes it",
      { { "b", { ["6000"] = F() } }, { "a", { include = "b" } } },
      "6000", "b", "6000" },
    { "a diamond (b and c both include d) still finds d",
      { { "a", { include = { "b", "c" } } }, { "b", { include = "d" } },
        { "c", { include = "d" } }, { "d", { ["_X"] = F() } } },
      "5", "d", "_X" },
  }

  for _, row in ipairs(rows) do
    local desc, contexts, exten, where, key = table.unpack(row)
    it(desc, function()
      local dp = dialplan.new()
      for _, c in ipairs(contexts) do dp:add_context(c[1], c[2]) end
      local fn, info = dp:match("a", exten)
      if where == nil then
        assert.is_nil(fn)
        assert.is_nil(info)
      else
        assert.are.same({ context = where, pattern = key }, info)
        for _, c in ipairs(contexts) do
          if c[1] == where then assert.are.equal(c[2][key], fn) end
        end
      end
    end)
  end

  it("sees a context added later without rebuilding", function()
    local dp = dialplan.new()
    dp:add_context("a", { include = "late" })
    assert.is_nil(dp:match("a", "100"))
    local fn = handler()
    dp:add_context("late", { ["100"] = fn })
    assert.are.equal(fn, (dp:match("a", "100")))
  end)
end)

describe("match", function()
  local dp, fn6000, fnpat = dialplan.new(), handler(), handler()
  dp:add_context("internal", { ["6000"] = fn6000, ["_6XXX"] = fnpat })

  it("returns the function and where it matched", function()
    local fn, info = dp:match("internal", "6000")
    assert.are.equal(fn6000, fn)
    assert.are.same({ context = "internal", pattern = "6000" }, info)
    fn, info = dp:match("internal", "6123")
    assert.are.equal(fnpat, fn)
    assert.are.same({ context = "internal", pattern = "_6XXX" }, info)
  end)

  it("returns nil when nothing matches", function()
    assert.are.same({}, { dp:match("internal", "7000") })
  end)

  it("returns nil, without error, for an unknown context", function()
    assert.are.same({}, { dp:match("nope", "6000") })
  end)

  it("rejects a non-string extension", function()
    assert.has_error(function() dp:match("internal", 6000) end,
      "dialplan: match(\"internal\", exten): exten must be a string, got number")
  end)

  it("gives each call its own info table", function()
    local _, a = dp:match("internal", "6000")
    local _, b = dp:match("internal", "6000")
    assert.are_not.equal(a, b)
  end)
end)

describe("contexts()", function()
  it("lists the context names, sorted", function()
    local dp = dialplan.new()
    for _, n in ipairs { "outbound", "default", "internal" } do dp:add_context(n, {}) end
    assert.are.same({ "default", "internal", "outbound" }, dp:contexts())
    assert.are.same({}, dialplan.new():contexts())
  end)
end)

describe("errors", function()
  -- { pattern, message from compile() }
  local bad_patterns = {
    { "_[5-",   "bad pattern '_[5-': unterminated '[' at position 2 (missing ']')" },
    { "_X[12",  "bad pattern '_X[12': unterminated '[' at position 3 (missing ']')" },
    { "_",      "bad pattern '_': empty pattern: '_' must be followed by at least one element (e.g. '_X.')" },
    { "_--",    "bad pattern '_--': empty pattern: '_' must be followed by at least one element (e.g. '_X.')" },
    { "_X[]",   "bad pattern '_X[]': empty character class '[]' matches nothing" },
    { "_[9-1]", "bad pattern '_[9-1]': reversed range '9-1' in [9-1] (write [1-9])" },
    { "_9.X",   "bad pattern '_9.X': '.' must be the last element (it takes all the remaining characters), but 'X' follows it" },
    { "_!9",    "bad pattern '_!9': '!' must be the last element (it takes all the remaining characters), but '9' follows it" },
    { "",       "extension must be a non-empty string, got ''" },
  }

  for _, row in ipairs(bad_patterns) do
    local pattern, msg = row[1], row[2]
    it(("compile(%q) returns nil and says why"):format(pattern), function()
      assert.are.same({ nil, msg }, { dialplan.compile(pattern) })
    end)
    it(("add_context rejects %q"):format(pattern), function()
      assert.has_error(function()
        dialplan.new():add_context("ctx", { [pattern] = handler() })
      end, "dialplan: context 'ctx': " .. msg)
    end)
  end

  -- { description, function(dp) that must fail, message }
  local bad_calls = {
    { "a value that is not a function",
      function(dp) dp:add_context("ctx", { ["6000"] = "Dial(PJSIP/6000)" }) end,
      "dialplan: context 'ctx': extension '6000' must be a function(call, exten), got string" },
    { "a number key",
      function(dp) dp:add_context("ctx", { [6000] = handler() }) end,
      "dialplan: context 'ctx': extension keys must be strings, got number 6000 (write ['6000'])" },
    { "an include that is not a name",
      function(dp) dp:add_context("ctx", { include = { "a", 42 } }) end,
      "dialplan: context 'ctx': include #2 must be a context name (string), got number" },
    { "a duplicate context name",
      function(dp) dp:add_context("ctx", {}); dp:add_context("ctx", {}) end,
      "dialplan: context 'ctx': already defined" },
    { "a missing table",
      function(dp) dp:add_context("ctx") end,
      "dialplan: context 'ctx': expected a table of extensions, got nil" },
    { "an empty context name",
      function(dp) dp:add_context("", {}) end,
      "dialplan: context name must be a non-empty string, got string" },
  }

  for _, row in ipairs(bad_calls) do
    local desc, call, msg = row[1], row[2], row[3]
    it("add_context rejects " .. desc, function()
      assert.has_error(function() call(dialplan.new()) end, msg)
    end)
  end

  it("blames the caller of add_context (error level 2)", function()
    local ok, err = pcall(function()
      dialplan.new():add_context("ctx", { ["_[5-"] = handler() })
    end)
    assert.is_false(ok)
    assert.matches("^[^:]*dialplan_spec%.lua:%d+: dialplan: context 'ctx'", err)
  end)

  it("leaves no half-added context behind", function()
    local dp = dialplan.new()
    pcall(dp.add_context, dp, "ctx", { ["6000"] = handler(), ["_["] = handler() })
    assert.are.same({}, dp:contexts())
    dp:add_context("ctx", {})  -- the name is still free
  end)
end)
