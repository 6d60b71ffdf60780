-- lunapbx.dialplan: Asterisk-style extension matching and contexts.
--
--   local dp = require("lunapbx.dialplan").new()
--   dp:add_context("internal", {
--     ["6000"]  = function(call, exten) ... end,   -- literal extension
--     ["_6XXX"] = function(call, exten) ... end,   -- pattern
--     include   = { "features", "outbound" },      -- or a single name
--   })
--   local fn, info = dp:match("internal", "6001")  -- info.context, info.pattern
--
-- Patterns follow Asterisk: X=[0-9] Z=[1-9] N=[2-9] (any case), [1-37-9]
-- classes, '.' = one or more remaining chars, '!' = zero or more; every
-- other character is literal.  '-' outside [] is ignored, as in Asterisk, so
-- "_NXX-XXXX" reads like a phone number.  We are stricter than Asterisk where
-- it silently does something surprising: an unterminated or empty [], a
-- reversed range, or anything after '.'/'!' (Asterisk ignores it) is an error.
--
-- Precedence (see `before`): a literal extension always wins, then patterns
-- are tried most specific first, in Asterisk's order.  Parsing and sorting
-- happen once in add_context; match is a hash lookup plus one anchored
-- string.find per pattern, allocating only the returned info table.

local M = {}

local sfind, sformat, schar, sbyte = string.find, string.format, string.char, string.byte

-- Per-position specificity weights, as in Asterisk's ext_cmp_pattern_pos():
-- (number of chars the element accepts) << 8 | (lowest char), so a literal
-- (1 char) < [2 chars] < N (8) < Z (9) < X (10) < bigger classes.  The
-- wildcards come after every class, '!' after '.'.
local W_DOT, W_BANG = 0x18000, 0x28000
-- A pattern that has ended ranks before '!': "_6X" beats "_6X!" for "61"
-- (Asterisk's trie reports the shorter pattern first).  Against any other
-- element the end of a pattern never competes: fixed-length patterns of
-- different lengths, or a fixed one and one ending in '.', cannot both match.
local W_END = 0

-- Escape one byte for use in a Lua pattern (also inside a [set]).
local function esc(c) return sfind(c, "^%w$") and c or "%" .. c end

-- Build an element from a set of bytes {[byte]=true}: the Lua pattern piece,
-- its weight and the canonical sorted member string (for tie-breaking).
local function class_elem(set)
  local chars, count, min = {}, 0, nil
  for b = 0, 255 do
    if set[b] then
      count = count + 1
      min = min or b
      chars[count] = schar(b)
    end
  end
  local members = table.concat(chars)
  local lua = count == 1 and esc(members) or "[" .. members:gsub(".", esc) .. "]"
  return { lua = lua, weight = count << 8 | min, set = members }
end

local function add_range(set, lo, hi)
  for b = sbyte(lo), sbyte(hi) do set[b] = true end; return set
end
local NAMED = { X = add_range({}, "0", "9"), Z = add_range({}, "1", "9"),
                N = add_range({}, "2", "9") }

local Matcher = {}; Matcher.__index = Matcher
function Matcher:match(exten)
  return type(exten) == "string" and sfind(exten, self.lua) ~= nil
end
Matcher.__call = Matcher.match

-- Parse the part of a pattern after '_' into elements; nil, why on error.
local function parse(pattern)
  local body, elems, i = pattern:sub(2), {}, 1
  local function fail(fmt, ...)
    return nil, sformat("bad pattern '%s': " .. fmt, pattern, ...)
  end
  while i <= #body do
    local c, e = body:sub(i, i), nil
    local named = NAMED[c:upper()]
    if named then
      e = class_elem(named)
    elseif c == "." or c == "!" then
      if i < #body then
        return fail("'%s' must be the last element (it takes all the remaining"
          .. " characters), but '%s' follows it", c, body:sub(i + 1))
      end
      e = { lua = c == "." and ".+" or ".*", weight = c == "." and W_DOT or W_BANG, set = "" }
    elseif c == "[" then
      local close = sfind(body, "]", i + 1, true)
      if not close then
        return fail("unterminated '[' at position %d (missing ']')", i + 1)
      end
      -- Inside [], "a-b" is a range when '-' has a char on both sides;
      -- a leading or trailing '-' is literal (Asterisk does the same).
      local inner, set, j = body:sub(i + 1, close - 1), {}, 1
      while j <= #inner do
        local lo = inner:sub(j, j)
        if j + 2 <= #inner and inner:sub(j + 1, j + 1) == "-" then
          local hi = inner:sub(j + 2, j + 2)
          if sbyte(hi) < sbyte(lo) then
            return fail("reversed range '%s-%s' in [%s] (write [%s-%s])", lo, hi, inner, hi, lo)
          end
          add_range(set, lo, hi)
          j = j + 3
        else
          add_range(set, lo, lo)
          j = j + 1
        end
      end
      if inner == "" then return fail("empty character class '[]' matches nothing") end
      e, i = class_elem(set), close
    elseif c ~= "-" then -- a '-' outside [] is ignored
      e = { lua = esc(c), weight = 0x100 | sbyte(c), set = c }
    end
    elems[#elems + 1] = e
    i = i + 1
  end
  if #elems == 0 then
    return fail("empty pattern: '_' must be followed by at least one element (e.g. '_X.')")
  end
  return elems
end

-- compile(key) -> matcher (callable, or :match(exten)) | nil, errmsg.
-- A key not starting with '_' compiles to an exact-string matcher.
function M.compile(pattern)
  if type(pattern) ~= "string" or pattern == "" then
    return nil, "extension must be a non-empty string, got "
      .. (pattern == "" and "''" or type(pattern))
  end
  local m = setmetatable({ pattern = pattern, weights = {}, sets = {} }, Matcher)
  if pattern:sub(1, 1) ~= "_" then
    m.literal, m.lua = true, "^" .. pattern:gsub(".", esc) .. "$"
    return m
  end
  local elems, err, lua = parse(pattern)
  if not elems then return nil, err end
  lua = {}
  for k, e in ipairs(elems) do
    lua[k], m.weights[k], m.sets[k] = e.lua, e.weight, e.set
  end
  m.lua = "^" .. table.concat(lua) .. "$"
  return m
end

-- Sort order of two compiled patterns, most specific first.  Position by
-- position: lower weight first; equal weights but different sets (e.g. [13]
-- vs [15]) put the set with the lower characters first, as Asterisk does.
-- Tie rule: patterns equal at every position (e.g. "_6XXX" and "_6xxx", or
-- "_[12]" and "_[21]") are ordered by the byte order of the key itself.
-- "Earlier defined" cannot be used: the keys of a Lua table have no order,
-- and the result must not depend on the hash layout.
local function bytes_lt(a, b) -- not `<`: that is strcoll, locale-dependent
  for i = 1, math.min(#a, #b) do
    local x, y = sbyte(a, i), sbyte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function before(a, b)
  local wa, wb, sa, sb = a.weights, b.weights, a.sets, b.sets
  for i = 1, math.max(#wa, #wb) do
    local x, y = wa[i] or W_END, wb[i] or W_END
    if x ~= y then return x < y end
    if sa[i] ~= sb[i] then return bytes_lt(sa[i] or "", sb[i] or "") end
  end
  return bytes_lt(a.pattern, b.pattern)
end

local Dialplan = {}; Dialplan.__index = Dialplan

function M.new()
  -- stamp: incremented per match() to mark contexts visited in this search,
  -- which makes include cycles harmless without allocating a visited set.
  return setmetatable({ ctx = {}, stamp = 0 }, Dialplan)
end

function Dialplan:add_context(name, tbl)
  if type(name) ~= "string" or name == "" then
    error("dialplan: context name must be a non-empty string, got " .. type(name), 2)
  end
  local function fail(fmt, ...) -- level 3: blame add_context's caller
    error(sformat("dialplan: context '%s': " .. fmt, name, ...), 3)
  end
  if self.ctx[name] then fail("already defined") end
  if type(tbl) ~= "table" then fail("expected a table of extensions, got %s", type(tbl)) end

  local ctx = { name = name, exact = {}, patterns = {}, includes = {}, seen = 0 }
  for key, fn in pairs(tbl) do
    if key == "include" then
      local list = type(fn) == "table" and fn or { fn }
      for i, inc in ipairs(list) do
        if type(inc) ~= "string" then
          fail("include #%d must be a context name (string), got %s", i, type(inc))
        end
        ctx.includes[i] = inc
      end
    else
      if type(key) ~= "string" then
        fail("extension keys must be strings, got %s %s (write ['%s'])",
          type(key), tostring(key), tostring(key))
      end
      if type(fn) ~= "function" then
        fail("extension '%s' must be a function(call, exten), got %s", key, type(fn))
      end
      local m, err = M.compile(key)
      if not m then fail("%s", err) end
      if m.literal then
        ctx.exact[key] = fn
      else
        m.fn = fn
        ctx.patterns[#ctx.patterns + 1] = m
      end
    end
  end
  table.sort(ctx.patterns, before)
  self.ctx[name] = ctx
end

-- Depth-first: own literals, own patterns, then each include in order.
-- Unknown contexts (maybe added later) and ones already visited match nothing.
local function search(self, name, exten, stamp)
  local ctx = self.ctx[name]
  if not ctx or ctx.seen == stamp then return nil end
  ctx.seen = stamp
  local fn = ctx.exact[exten]
  if fn then return fn, name, exten end
  local pats, incs = ctx.patterns, ctx.includes
  for i = 1, #pats do
    local p = pats[i]
    if sfind(exten, p.lua) then return p.fn, name, p.pattern end
  end
  for i = 1, #incs do
    local f, where, key = search(self, incs[i], exten, stamp)
    if f then return f, where, key end
  end
end

function Dialplan:match(name, exten)
  if type(exten) ~= "string" then
    error(sformat("dialplan: match(%q, exten): exten must be a string, got %s",
      tostring(name), type(exten)), 2)
  end
  self.stamp = self.stamp + 1
  local fn, where, key = search(self, name, exten, self.stamp)
  if not fn then return nil end
  return fn, { context = where, pattern = key }
end

-- Could `exten` followed by more characters match an extension of the
-- context (its includes too)?  Asterisk's "matchmore": while it holds, a
-- caller dialling into a menu may still be typing.  '.' and '!' can always
-- take more.
local function pattern_extends(p, exten)
  local w, sets, n = p.weights, p.sets, #p.weights
  for i = 1, #exten do
    if i > n then return false end
    if w[i] == W_DOT or w[i] == W_BANG then return true end
    if not sfind(sets[i], exten:sub(i, i), 1, true) then return false end
  end
  return n > #exten
end

local function search_more(self, name, exten, stamp)
  local ctx = self.ctx[name]
  if not ctx or ctx.seen == stamp then return false end
  ctx.seen = stamp
  for key in pairs(ctx.exact) do
    if #key > #exten and key:sub(1, #exten) == exten then return true end
  end
  for _, p in ipairs(ctx.patterns) do
    if pattern_extends(p, exten) then return true end
  end
  for _, inc in ipairs(ctx.includes) do
    if search_more(self, inc, exten, stamp) then return true end
  end
  return false
end

function Dialplan:matchmore(name, exten)
  if type(exten) ~= "string" then
    error(sformat("dialplan: matchmore(%q, exten): exten must be a string, got %s",
      tostring(name), type(exten)), 2)
  end
  self.stamp = self.stamp + 1
  return search_more(self, name, exten, self.stamp)
end

function Dialplan:contexts()
  local names = {}
  for name in pairs(self.ctx) do names[#names + 1] = name end
  table.sort(names)
  return names
end

return M
