-- lunapbx.trunk: trunks in the configuration, in sip.conf's words.
--
--   -- sip.conf: register => trunk_A_vers_B:azerty@192.168.1.153
--   pbx.register "trunk_A_vers_B:azerty@192.168.1.153"
--   -- register => 1020:vitrygtr@sip.kaiba.corp:5600/9999, with options
--   pbx.register "1020:vitrygtr@sip.kaiba.corp:5600/9999" { name = "kaiba", expires = 300 }
--
--   -- sip.conf: [siptrunk] type=peer host=... (we call it; it calls us)
--   pbx.peer "siptrunk" {
--     host = "sip.kaiba.corp", port = 5600, defaultuser = "1040", secret = "vitrygtr",
--     fromuser = "1040", fromdomain = "sip.kaiba.corp", insecure = "invite",
--     context = "from-siptrunk", qualify = true,
--   }
--   -- sip.conf: [trunk_A_vers_B] type=friend host=dynamic secret=azerty
--   pbx.peer "trunk_A_vers_B" { host = "dynamic", secret = "azerty", context = "internal" }
--
-- Dialling over a peer is call:dial{ trunk = "siptrunk", number = "0123" },
-- Asterisk's Dial(SIP/siptrunk/0123).  The register line itself is parsed
-- in C (core/sip/trunkcfg.c), once, for the configuration and the tests.

local M = {}

local REGISTER = { name = "string", expires = "number", timeout = "number", retry = "table" }

local PEER = {
  type = "string", host = "string", port = "number", transport = "string",
  defaultuser = "string", secret = "string", fromuser = "string", fromdomain = "string",
  insecure = "string", context = "string", qualify = "boolean|number",
  qualifyfreq = "number", callerid = "string", allow = "table",
}

local INSECURE = { port = true, invite = true, no = true }

local function positive_int(v)
  return math.type(v) == "integer" and v > 0
end

-- Keys and types of a declaration; level 3 = the configuration's line.
local function check_fields(what, t, schema)
  if type(t) ~= "table" then error(what .. ": expects a table", 3) end
  for k, v in pairs(t) do
    local want = schema[k]
    if not want then error(("%s: unknown field '%s'"):format(what, tostring(k)), 3) end
    if not want:find(type(v), 1, true) then
      error(("%s: '%s' must be a %s"):format(what, k, want:gsub("|", " or ")), 3)
    end
  end
end

--- qualify = true | ms, qualifyfreq = s: also for pbx.endpoint.  Returns
--- an error message or nil.
function M.qualify_error(t)
  local q = t.qualify
  if q ~= nil and type(q) ~= "boolean" and not (positive_int(q) and q <= 60000) then
    return "qualify must be true, false or the milliseconds allowed (1-60000)"
  end
  if t.qualifyfreq ~= nil and not positive_int(t.qualifyfreq) then
    return "qualifyfreq must be whole seconds"
  end
end

local function check_peer(what, p)
  if not p.host then error(what .. ": host = 'dynamic' or an address is required", 3) end
  if p.type and p.type ~= "peer" and p.type ~= "friend" then
    error(what .. ": type must be 'peer' or 'friend'", 3)
  end
  if p.port and not (positive_int(p.port) and p.port <= 65535) then
    error(what .. ": port must be 1-65535", 3)
  end
  if p.transport and p.transport ~= "udp" and p.transport ~= "tcp" then
    error(what .. ": transport must be 'udp' or 'tcp'", 3)
  end
  for word in (p.insecure or ""):gmatch("[^,]*") do
    if word ~= "" and not INSECURE[word] then
      error(("%s: insecure: '%s' (port, invite, port,invite or no)"):format(what, word), 3)
    end
  end
  local qerr = M.qualify_error(p)
  if qerr then error(what .. ": " .. qerr, 3) end
  if p.host == "dynamic" and p.type ~= "friend" then
    error(what .. ": a dynamic host registers to us: type must be 'friend'", 3)
  end
  if p.type == "friend" and not p.secret then
    error(what .. ": a friend authenticates: a secret is required", 3)
  end
end

-- A friend also authenticates to us (REGISTER, INVITE) as an endpoint.
local function as_endpoint(p)
  return { name = p.name, secret = p.secret, context = p.context,
           callerid = p.callerid, allow = p.allow }
end

--- The pbx.register and pbx.peer of one generation's state.
function M.new(state)
  state.registrations = {}
  state.peers = {}
  local api = {}

  function api.register(line)
    if type(line) ~= "string" or not line:find("@", 1, true) then
      error("pbx.register: \"user[:secret]@host[:port][/contact]\" expected", 2)
    end
    local reg = { line = line }
    state.registrations[#state.registrations + 1] = reg
    -- pbx.register "line" { options }: the options come after
    return function(opts)
      check_fields("pbx.register", opts, REGISTER)
      for k, v in pairs(opts) do reg[k] = v end
      for _, k in ipairs { "expires", "timeout" } do
        if reg[k] and not positive_int(reg[k]) then
          error(("pbx.register: %s must be whole seconds"):format(k), 2)
        end
      end
      local r = reg.retry
      if r and not (positive_int(r[1]) and positive_int(r[2]) and r[1] <= r[2]) then
        error("pbx.register: retry = { min, max } in whole seconds, min <= max", 2)
      end
      return reg
    end
  end

  function api.peer(name)
    if type(name) ~= "string" or name == "" or name:find("[%s@:;<>\"/]") then
      error("pbx.peer: a name without spaces or SIP punctuation is needed", 2)
    end
    return function(t)
      local what = ("pbx.peer '%s'"):format(name)
      check_fields(what, t, PEER)
      if state.endpoint_names[name] then error(what .. " declared twice", 2) end
      local p = { name = name }
      for k, v in pairs(t) do p[k] = v end
      p.type = p.type or (p.host == "dynamic" and "friend" or "peer")
      p.context = p.context or "default"
      check_peer(what, p)
      state.endpoint_names[name] = true
      state.peers[#state.peers + 1] = p
      if p.type == "friend" then
        state.endpoints[#state.endpoints + 1] = as_endpoint(p)
      end
      return p
    end
  end

  return api
end

return M
