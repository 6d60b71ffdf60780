-- lunapbx.numbers: which prompts say a number, per language.
--
--   local numbers = require "lunapbx.numbers"
--   numbers.prompts(1981, "fr")  --> { "digits/thousand", "digits/9",
--                                      "digits/hundred", "digits/81" }
--   numbers.digits("12#", "en") --> { "digits/1", "digits/2", "digits/pound" }
--
-- Every number below 100 is one prompt (digits/0 .. digits/99), already
-- right in each language ("vingt et un", "soixante et onze"), so the rules
-- here only join hundreds, thousands and millions; see the comment at the
-- top of sounds/prompts.txt.  Languages without rules of their own use the
-- English ones with their own digits/ files.

local M = {}

local floor = math.floor

local function add(out, name) out[#out + 1] = name end

-- English: 1,234,567 = one million two hundred thirty-four thousand five
-- hundred sixty-seven (no "and").
local EN_UNITS = { { 1000000, "digits/million" }, { 1000, "digits/thousand" } }

local function en(n, out)
  for _, u in ipairs(EN_UNITS) do
    if n >= u[1] then
      en(floor(n / u[1]), out)
      add(out, u[2])
      n = n % u[1]
      if n == 0 then return out end
    end
  end
  local h, r = floor(n / 100), n % 100
  if h > 0 then
    add(out, "digits/" .. h)
    add(out, "digits/hundred")
  end
  if r > 0 or (n == 0 and h == 0) then add(out, "digits/" .. r) end
  return out
end

-- French: "mille" and "cent" alone for one ("mille", "cent", never "un
-- mille"); "cents" only when nothing follows it ("deux cents", but "deux
-- cent un", "deux cent mille"); "un million", "deux millions".
-- opts.feminine: 1 is "une" ("une minute").
local function fr(n, out, before_mille, feminine)
  if n >= 1000000 then
    local m = floor(n / 1000000)
    fr(m, out, false, false)
    add(out, m > 1 and "digits/millions" or "digits/million")
    n = n % 1000000
    if n == 0 then return out end
  end
  if n >= 1000 then
    local t = floor(n / 1000)
    if t > 1 then fr(t, out, true, false) end
    add(out, "digits/thousand")
    n = n % 1000
    if n == 0 then return out end
  end
  local h, r = floor(n / 100), n % 100
  if h == 1 then
    add(out, "digits/hundred")
  elseif h > 1 then
    add(out, "digits/" .. h)
    add(out, (r == 0 and not before_mille) and "digits/hundreds" or "digits/hundred")
  end
  if r > 0 or (n == 0 and h == 0) then
    add(out, (r == 1 and feminine) and "digits/1F" or "digits/" .. r)
  end
  return out
end

--- numbers.prompts(n, lang [, opts]) -> list of prompt names.
-- n: an integer (negative numbers start with digits/minus).
function M.prompts(n, lang, opts)
  if math.type(n) ~= "integer" then
    if type(n) == "number" and n == floor(n) then
      n = floor(n)
    else
      error(("say_number: %s is not an integer"):format(tostring(n)), 2)
    end
  end
  local out = {}
  if n < 0 then
    add(out, "digits/minus")
    n = -n
  end
  if lang == "fr" then
    return fr(n, out, false, opts and opts.feminine)
  end
  return en(n, out)
end

local KEYS = { ["*"] = "digits/star", ["#"] = "digits/pound" }

--- numbers.digits(s) -> one prompt per character: 0-9, * and #.
function M.digits(s)
  s = tostring(s)
  local out = {}
  for c in s:gmatch(".") do
    local name = KEYS[c] or (c:match("%d") and "digits/" .. c)
    if not name then
      error(("say_digits: cannot say '%s' in '%s'"):format(c, s), 2)
    end
    add(out, name)
  end
  return out
end

return M
