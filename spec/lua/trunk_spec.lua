-- Specification of the trunk declarations (lua/lunapbx/trunk.lua through
-- pbx.register, pbx.peer and qualify on pbx.endpoint): what a configuration
-- may write, what it is refused with, and what goes to the core.

-- The core's functions the module reads at load; trunks() is what the C
-- core would answer.
local fake_trunks = {}
_G._core = {
  sleep = function() end, now = function() return 0 end,
  trace = function() return false end, log = function() end,
  trunks = function() return fake_trunks end,
}

-- A fresh generation of the lunapbx module, as each configuration load gets.
local function fresh()
  package.loaded["lunapbx"] = nil
  package.loaded["lunapbx.trunk"] = nil
  return require "lunapbx"
end

-- Runs f(pbx) as a configuration chunk would; returns the error or nil.
local function refused(f)
  local pbx = fresh()
  local ok, err = pcall(f, pbx)
  return not ok and tostring(err) or nil
end

describe("pbx.register (sip.conf's register =>)", function()
  it("keeps the line as written, for the core to parse", function()
    local pbx = fresh()
    pbx.register "trunk_A_vers_B:azerty@192.168.1.153"
    local regs = pbx._export().registrations
    assert.are.equal(1, #regs)
    assert.are.equal("trunk_A_vers_B:azerty@192.168.1.153", regs[1].line)
  end)

  it("takes options after the line: name, expires, timeout, retry", function()
    local pbx = fresh()
    local r = pbx.register "1020:vitrygtr@sip.kaiba.corp:5600/9999" {
      name = "kaiba", expires = 300, timeout = 5, retry = { 2, 60 },
    }
    assert.are.same({ line = "1020:vitrygtr@sip.kaiba.corp:5600/9999", name = "kaiba",
                      expires = 300, timeout = 5, retry = { 2, 60 } }, r)
    assert.are.equal(r, pbx._export().registrations[1])
  end)

  it("keeps several, in order", function()
    local pbx = fresh()
    pbx.register "a@h1"
    pbx.register "b@h2" { name = "second" }
    local regs = pbx._export().registrations
    assert.are.equal("a@h1", regs[1].line)
    assert.are.equal("second", regs[2].name)
  end)

  -- { what the configuration does, a part of the error }
  local bad = {
    { function(pbx) pbx.register(42) end,                      "user%[:secret%]@host" },
    { function(pbx) pbx.register "no-at-sign" end,             "user%[:secret%]@host" },
    { function(pbx) pbx.register "u@h" { expire = 60 } end,    "unknown field 'expire'" },
    { function(pbx) pbx.register "u@h" { expires = "60" } end, "'expires' must be a number" },
    { function(pbx) pbx.register "u@h" { expires = 0 } end,    "expires must be whole seconds" },
    { function(pbx) pbx.register "u@h" { timeout = 1.5 } end,  "timeout must be whole seconds" },
    { function(pbx) pbx.register "u@h" { retry = { 10, 5 } } end, "min <= max" },
    { function(pbx) pbx.register "u@h" { retry = { 0, 5 } } end,  "retry = { min, max }" },
    { function(pbx) pbx.register "u@h" "more" end,             "expects a table" },
  }
  for i, row in ipairs(bad) do
    it(("refuses bad declaration #%d (%s)"):format(i, row[2]), function()
      local err = refused(row[1])
      assert.is_truthy(err, "accepted")
      assert.is_truthy(err:find(row[2]), err)
    end)
  end

  it("points the error at the configuration's line", function()
    local err = refused(function(pbx) pbx.register "u@h" { expires = -1 } end)
    assert.is_truthy(err:find("trunk_spec.lua:%d+:"), err)
  end)
end)

describe("pbx.peer (sip.conf's [peer] sections)", function()
  it("a static peer (the seed's [siptrunk]) is a peer, not an endpoint", function()
    local pbx = fresh()
    local p = pbx.peer "siptrunk" {
      host = "sip.kaiba.corp", port = 5600, defaultuser = "1040", secret = "vitrygtr",
      fromuser = "1040", fromdomain = "sip.kaiba.corp", insecure = "invite",
      context = "from-siptrunk", qualify = true,
    }
    local ex = pbx._export()
    assert.are.equal(p, ex.peers[1])
    assert.are.equal("peer", p.type)
    assert.are.equal("siptrunk", p.name)
    assert.are.equal(0, #ex.endpoints)   -- cannot register or log in
  end)

  it("a dynamic peer is a friend: it also authenticates as an endpoint", function()
    local pbx = fresh()
    pbx.peer "trunk_A_vers_B" { host = "dynamic", secret = "azerty", context = "internal",
                                insecure = "port,invite", qualify = 500, qualifyfreq = 10 }
    local ex = pbx._export()
    assert.are.equal("friend", ex.peers[1].type)
    assert.are.same({ name = "trunk_A_vers_B", secret = "azerty", context = "internal" },
                    ex.endpoints[1])   -- no qualify twice: the peer has it
  end)

  it("a static friend authenticates too; context defaults to 'default'", function()
    local pbx = fresh()
    pbx.peer "gw" { type = "friend", host = "10.0.0.1", secret = "s", allow = { "PCMA" } }
    local ex = pbx._export()
    assert.are.equal("default", ex.peers[1].context)
    assert.are.same({ name = "gw", secret = "s", context = "default", allow = { "PCMA" } },
                    ex.endpoints[1])
  end)

  it("shares its names with the endpoints (dial targets are one namespace)", function()
    assert.is_truthy(refused(function(pbx)
      pbx.endpoint "x" { secret = "s" }
      pbx.peer "x" { host = "10.0.0.1" }
    end):find("declared twice"))
    assert.is_truthy(refused(function(pbx)
      pbx.peer "x" { host = "10.0.0.1" }
      pbx.endpoint "x" { secret = "s" }
    end):find("declared twice"))
  end)

  local bad = {
    { function(pbx) pbx.peer "a b" end,                                  "a name without spaces" },
    { function(pbx) pbx.peer "t/1" end,                                  "a name without spaces" },
    { function(pbx) pbx.peer "p" { port = 5060 } end,                    "host = 'dynamic' or an address" },
    { function(pbx) pbx.peer "p" { host = "h", hots = 1 } end,           "unknown field 'hots'" },
    { function(pbx) pbx.peer "p" { host = "h", port = "5060" } end,      "'port' must be a number" },
    { function(pbx) pbx.peer "p" { host = "h", port = 70000 } end,       "port must be 1%-65535" },
    { function(pbx) pbx.peer "p" { host = "h", type = "user" } end,      "type must be 'peer' or 'friend'" },
    { function(pbx) pbx.peer "p" { host = "h", transport = "tls" } end,  "transport must be 'udp' or 'tcp'" },
    { function(pbx) pbx.peer "p" { host = "h", insecure = "very" } end,  "insecure: 'very'" },
    { function(pbx) pbx.peer "p" { host = "h", qualify = "yes" } end,    "'qualify' must be a boolean or number" },
    { function(pbx) pbx.peer "p" { host = "h", qualify = 0 } end,        "qualify must be true, false or" },
    { function(pbx) pbx.peer "p" { host = "h", qualifyfreq = 0 } end,    "qualifyfreq must be whole seconds" },
    { function(pbx) pbx.peer "p" { host = "dynamic" } end,               "a secret is required" },
    { function(pbx) pbx.peer "p" { host = "dynamic", type = "peer", secret = "s" } end,
      "type must be 'friend'" },
    { function(pbx) pbx.peer "p" { host = "h", type = "friend" } end,    "a secret is required" },
  }
  for i, row in ipairs(bad) do
    it(("refuses bad declaration #%d (%s)"):format(i, row[2]), function()
      local err = refused(row[1])
      assert.is_truthy(err, "accepted")
      assert.is_truthy(err:find(row[2]), err)
      assert.is_truthy(err:find("trunk_spec.lua:%d+:"), "no file:line in " .. err)
    end)
  end
end)

describe("qualify on endpoints", function()
  it("is kept on the endpoint for the core", function()
    local pbx = fresh()
    pbx.endpoint "amine" { secret = "test", qualify = true, qualifyfreq = 30 }
    pbx.endpoint "bob" { secret = "b", qualify = 800 }
    local eps = pbx._export().endpoints
    assert.are.equal(true, eps[1].qualify)
    assert.are.equal(30, eps[1].qualifyfreq)
    assert.are.equal(800, eps[2].qualify)
  end)

  it("is checked like a peer's", function()
    local err = refused(function(pbx) pbx.endpoint "a" { secret = "s", qualify = -5 } end)
    assert.is_truthy(err:find("pbx.endpoint 'a': qualify must be"), err)
    err = refused(function(pbx) pbx.endpoint "a" { secret = "s", qualify = "yes" } end)
    assert.is_truthy(err:find("'qualify' must be a boolean or number"), err)
  end)
end)

describe("pbx.trunks() and pbx.trunk(name)", function()
  it("are the core's state, as it is", function()
    local pbx = fresh()
    fake_trunks = {
      { name = "to_A", kind = "register", state = "registered", expires_in = 50 },
      { name = "A", kind = "peer", state = "reachable", reachable = true, rtt_ms = 3 },
    }
    assert.are.equal(fake_trunks, pbx.trunks())
    assert.are.equal(fake_trunks[2], pbx.trunk("A"))
    assert.is_nil(pbx.trunk("nope"))
  end)
end)
