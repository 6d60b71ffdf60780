-- lunapbx.features: in-call feature keys (Asterisk's features.conf) and
-- the hook that may veto or rewrite a transfer.
--
--   pbx.features {
--     blindxfer = "#1",      -- blind transfer: #1, then the number
--     atxfer = "*2",         -- attended transfer: *2, the number, talk,
--     atxferabort = "*1",    --   hang up to complete, *1 to come back
--     atxfercomplete = "*2", --   or *2 to complete and stay out
--     disconnect = "*0",     -- hang up the bridge (Dial's h/H)
--     parkcall = "#72",      -- park the other party (Dial's k/K)
--     featuredigittimeout = 3,       -- seconds between the keys
--     atxfernoanswertimeout = 15,    -- the target rings at most this long
--   }
--   pbx.on_transfer(function(t) ... end)   -- t.kind "blind"|"attended",
--     t.by (leg), t.transferee (leg), t.number, t.context; return false to
--     refuse, a string to dial that instead, nil to go on
--
-- Keys are on per dial, as Dial's options: call:dial("bob", { options =
-- "tT" }): t the callee may transfer, T the caller; h/H hang up; k/K park.

local M = {}

M.DEFAULTS = {
  blindxfer = "#1", atxfer = "*2", atxferabort = "*1", atxfercomplete = "*2",
  disconnect = "*0", parkcall = "#72", featuredigittimeout = 3,
  atxfernoanswertimeout = 15,
}

local CODE = "^[0-9*#A-D]+$"

--- A fresh feature set (one per configuration generation).
function M.new()
  local self = { map = {}, hook = nil }
  for k, v in pairs(M.DEFAULTS) do self.map[k] = v end

  --- pbx.features { name = code, ... }
  function self.set(t)
    if type(t) ~= "table" then error("pbx.features expects a table", 3) end
    for k, v in pairs(t) do
      if M.DEFAULTS[k] == nil then
        error(("pbx.features: unknown feature '%s'"):format(tostring(k)), 3)
      end
      if k:find("timeout$") then
        if type(v) ~= "number" or v <= 0 then
          error(("pbx.features: %s must be seconds"):format(k), 3)
        end
      elseif v ~= false and (type(v) ~= "string" or not v:find(CODE) or #v > 8) then
        error(("pbx.features: %s must be 1 to 8 of 0-9 * # A-D (or false)"):format(k), 3)
      end
      self.map[k] = v
    end
  end

  --- pbx.on_transfer(fn)
  function self.on_transfer(fn)
    if fn ~= nil and type(fn) ~= "function" then
      error("pbx.on_transfer expects a function", 3)
    end
    self.hook = fn
  end

  --- The keys of the named features, as the core takes them.
  function self.keys(...)
    local keys, any = { timeout = self.map.featuredigittimeout }, false
    for _, name in ipairs({ ... }) do
      local code = self.map[name]
      if code then keys[code] = name; any = true end
    end
    return any and keys or nil
  end

  --- The keys each side of a dial gets from Dial's options ("tThHkK").
  function self.for_options(options)
    options = options or ""
    if type(options) ~= "string" then error("dial: options must be a string like \"tT\"", 4) end
    local function side(t, h, k)
      local names = {}
      if options:find(t, 1, true) then
        names[#names + 1] = "blindxfer"; names[#names + 1] = "atxfer"
      end
      if options:find(h, 1, true) then names[#names + 1] = "disconnect" end
      if options:find(k, 1, true) then names[#names + 1] = "parkcall" end
      return self.keys(table.unpack(names))
    end
    return side("T", "H", "K"), side("t", "h", "k")
  end

  --- The hook's word on a transfer: false (refused), or the number to dial.
  function self.allow(t)
    if not self.hook then return t.number end
    local r = self.hook(t)
    if r == false then return false end
    if type(r) == "string" and r ~= "" then return r end
    return t.number
  end

  return self
end

return M
