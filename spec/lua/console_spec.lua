-- Specification of the console's Lua side: lunapbx.pretty (how values
-- print) and lunapbx.console (chunks, incomplete input, errors,
-- completion, the views' text), on a stand-in for the C functions.
local pretty = require "lunapbx.pretty"

describe("pretty.format", function()
  -- { value, text }
  local rows = {
    { 42, "42" }, { 1.5, "1.5" }, { true, "true" }, { nil, "nil" },
    { "a", '"a"' },
    { 'q"\\\n\t\1', '"q\\"\\\\\\n\\t\\001"' },
    { {}, "{}" },
    { { 1, 2, 3 }, "{ 1, 2, 3 }" },
    { { b = 2, a = 1, [10] = "x", [true] = 0 }, '{ [10] = "x", a = 1, b = 2, [true] = 0 }' },
    { { ["not ident"] = 1, ["end"] = 2 }, '{ ["end"] = 2, ["not ident"] = 1 }' },
    { { 1, nil, 3 }, "{ 1, [3] = 3 }" },
    { { { { { { { { deep = 1 } } } } } } }, "{ { { { { { {...} } } } } } }" },
  }
  for _, r in ipairs(rows) do
    it(("%s -> %s"):format(tostring(r[1]), r[2]), function()
      assert.are.equal(r[2], pretty.format(r[1]))
    end)
  end

  it("breaks a table that does not fit on a line, one field a line", function()
    local t = {}
    for i = 1, 12 do t["field" .. i] = i * 1000 end
    local s = pretty.format(t)
    assert.truthy(s:match("^{\n  field1 = 1000,\n  field10 = 10000,\n"))
    assert.truthy(s:match("\n}$"))
  end)

  it("shows a cycle as <cycle>", function()
    local t = { name = "a" }
    t.self = t
    assert.are.equal('{ name = "a", self = <cycle> }', pretty.format(t))
  end)

  it("shows a table with __tostring as its text", function()
    local t = setmetatable({}, { __tostring = function() return "a view" end })
    assert.are.equal("{ a view }", pretty.format({ t }))
  end)

  it("reads tables raw: no __index runs", function()
    local t = setmetatable({ a = 1 }, { __index = function() error("ran") end })
    assert.are.equal("{ a = 1 }", pretty.format(t))
  end)

  it("elides beyond opts.items", function()
    local t = {}
    for i = 1, 10 do t[i] = i end
    assert.are.equal("{ 1, 2, 3, ... (7 more) }", pretty.format(t, { items = 3 }))
  end)
end)

describe("pretty.columns and pretty.bytes", function()
  it("aligns columns, right-aligned where asked, - for missing fields", function()
    local s = pretty.columns({ { id = 1, name = "alice" }, { id = 12 } },
      { { "ID", "id", right = true }, { "NAME", "name" } })
    assert.are.equal("ID  NAME\n 1  alice\n12  -", s)
  end)

  it("says bytes in B, KB, MB", function()
    assert.are.equal("812 B", pretty.bytes(812))
    assert.are.equal("2.0 KB", pretty.bytes(2048))
    assert.are.equal("4.0 MB", pretty.bytes(4 * 1024 * 1024))
  end)
end)

describe("lunapbx.console", function()
  local console, s, written, gen_env

  setup(function()
    _G._core = { log = function() end, trace = function(on) return on end }
    console = require "lunapbx.console"
    gen_env = setmetatable({ greeting = "hi" }, { __index = _G })
    gen_env.require = function(name)
      assert.are.equal("lunapbx", name)
      return { match = function() end, sleep = function() end, settings = {} }
    end
    console.init({
      load = load, traceback = debug.traceback, getinfo = debug.getinfo,
      write = function(text) written[#written + 1] = text end,
      generation = function() return { _env = gen_env } end,
      calls = function()
        return { { id = 7, state = "answered", age_ms = 65000, codec = "PCMU",
                   peer_codec = "PCMA", caller = "201", caller_name = "Alice",
                   exten = "202", context = "internal", peer = "bob", wait = "dial",
                   ringing = 0, func = "/etc/pbx/pbx.lua:8", line = "/etc/pbx/pbx.lua:9",
                   lua_mem = 2048 } }
      end,
      status = function() return { config = "/etc/pbx/pbx.lua" } end,
      follow = function(on) return on end,
    })
  end)

  before_each(function()
    s = console.session()
    written = {}
  end)

  -- What the C side does with a chunk: compile, run, show or fail.
  local function eval(sess, src)
    local fn = console.compile(sess, src)
    if type(fn) ~= "function" then return fn end
    local res = table.pack(xpcall(fn, debug.traceback))
    if not res[1] then return console.fail(sess, res[2]) end
    return console.show(sess, table.unpack(res, 2, res.n))
  end

  -- { chunk, answer }
  local rows = {
    { "1 + 1", "o2" },
    { "x = 5", "o" },
    { "return 1, 'two'", "o1\ttwo" },
    { "{ a = 1 }", "o{ a = 1 }" },
    { "greeting", "ohi" },                                   -- the generation's globals
    { "for i = 1, 2 do", "i" },                              -- incomplete
    { "x = {", "i" },
    { "f(", "i" },
    { "1 +* 2", "econsole:1: unexpected symbol near '*'" },  -- the expression's error
    { "x y", "econsole:1: syntax error near 'y'" },          -- the chunk's
    { "error('boom')", "econsole:1: boom" },                 -- no traceback: nothing more to say
    { "error({})", "e{}" },
  }
  for _, r in ipairs(rows) do
    it(("eval %q -> %q"):format(r[1], r[2]), function()
      assert.are.equal(r[2], eval(s, r[1]))
    end)
  end

  it("keeps a session's globals, and only its own", function()
    eval(s, "x = 41")
    assert.are.equal("o42", eval(s, "x + 1"))
    assert.are.equal("onil", eval(console.session(), "x"))
  end)

  it("sends print() to the console", function()
    assert.are.equal("o", eval(s, "print('a', 1, nil)"))
    assert.are.same({ "a\t1\tnil" }, written)
  end)

  it("keeps the frames of the chunk's own functions in a traceback", function()
    local r = eval(s, "local function f() error('deep') end\nf()")
    assert.truthy(r:match("^econsole:1: deep\nstack traceback:\n"))
    assert.truthy(r:match("console:1: in local 'f'"))
    assert.falsy(r:match("xpcall"))
  end)

  -- { word, candidates }
  local completions = {
    { "pbx.ma", "pbx.match(" },                     -- one: with ( for a function
    { "pbx.s", "pbx.settings\npbx.sleep" },
    { "cal", "calls(" },
    { "sip.", "sip.trace(" },
    { "log.f", "log.follow(" },
    { "gree", "greeting" },
    { "nothing_like_this", "" },
  }
  for _, r in ipairs(completions) do
    it(("completes %q -> %q"):format(r[1], r[2]:gsub("\n", " ")), function()
      assert.are.equal(r[2], console.complete(s, r[1]))
    end)
  end

  it("completes the session's own globals, and a table with a dot", function()
    eval(s, "mytable = { alpha = 1 }")
    assert.are.equal("mytable.", console.complete(s, "mytab"))
    assert.are.equal("mytable.alpha", console.complete(s, "mytable.al"))
  end)

  it("shows calls() as a table, file names relative to the configuration", function()
    local text = eval(s, "calls()")
    assert.truthy(text:match("ID%s+STATE%s+AGE"))
    assert.truthy(text:match("7%s+answered%s+1:05%s+Alice <201>%s+202@internal%s+bob%s+"
      .. "PCMU/PCMA%s+pbx%.lua:8%s+pbx%.lua:9 %(dial%)%s+2%.0 KB"))
    assert.truthy(text:match("1 call$"))
    assert.are.equal("o7", eval(s, "calls()[1].id"))
  end)

  it("says when no trunk is configured (no _core.trunks)", function()
    assert.are.equal("ono trunks configured", eval(s, "trunks()"))
  end)

  it("shows trunks when _core.trunks exists", function()
    _G._core.trunks = function()
      return { { name = "ovh", kind = "register", server = "sip.ovh.net", state = "registered",
                 expires_in = 300, reachable = true, rtt_ms = 12 },
               { name = "gw", kind = "peer", state = "failed", retry_in = 20,
                 last_error = "403 Forbidden" } }
    end
    local text = eval(s, "trunks()")
    _G._core.trunks = nil
    assert.truthy(text:match("ovh%s+register%s+sip%.ovh%.net%s+registered%s+300 s%s+yes%s+12 ms"))
    assert.truthy(text:match("gw%s+peer%s+%-%s+failed %(retry in 20 s%)%s+%-%s+%-%s+%-%s+403 Forbidden"))
    assert.truthy(text:match("2 trunks$"))
  end)
end)
