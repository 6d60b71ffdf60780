-- lunapbx.pretty: values as readable text, for the console.
--
--   pretty.format(v [, opts]) -> string, Lua-like:
--     { 1, 2, name = "x", nested = { ... } }
--   opts.width (72): a table stays on one line up to this width
--   opts.depth (6), opts.items (200): deeper or longer is elided
--   opts.func(f): how a function shows (default tostring)
--   A table with a __tostring metamethod shows as that text; a table seen
--   twice on the way down shows as <cycle>.  Keys: 1..n first, then the
--   others sorted (numbers, strings, the rest).  Tables are read raw: no
--   __index or __pairs runs.
--
--   pretty.columns(rows, cols) -> string: a text table.  cols lists
--     { "HEADER", "field" [, right = true] }; a missing field shows "-".
--
--   pretty.bytes(n) -> "812 B", "2.1 KB", "3.4 MB"

local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[w] = true
end

local ESC = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ['"'] = '\\"',
              ["\\"] = "\\\\" }

local function quote(s)
  return '"' .. (s:gsub('[%c"\\]', function(c)
    return ESC[c] or ("\\%03d"):format(c:byte())
  end)) .. '"'
end

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k]
end

local RANK = { number = 1, string = 2 }

local function key_lt(a, b)
  local ra, rb = RANK[type(a)] or 3, RANK[type(b)] or 3
  if ra ~= rb then return ra < rb end
  if ra == 3 then return tostring(a) < tostring(b) end
  return a < b
end

local render

local function render_key(k, opts, depth, seen)
  if is_ident(k) then return k end
  return "[" .. render(k, opts, depth, seen, "") .. "]"
end

local function render_table(t, opts, depth, seen, indent)
  local parts, n = {}, 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end

  local function add(s)
    if #parts < opts.items then parts[#parts + 1] = s end
  end
  local inner = indent .. "  "
  for i = 1, n do add(render(rawget(t, i), opts, depth + 1, seen, inner)) end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then
      keys[#keys + 1] = k
    end
  end
  table.sort(keys, key_lt)
  for _, k in ipairs(keys) do
    add(render_key(k, opts, depth + 1, seen) .. " = "
        .. render(rawget(t, k), opts, depth + 1, seen, inner))
  end
  local total = n + #keys
  if total > #parts then parts[#parts + 1] = ("... (%d more)"):format(total - #parts) end
  if #parts == 0 then return "{}" end

  local line = "{ " .. table.concat(parts, ", ") .. " }"
  if #line + #indent <= opts.width and not line:find("\n", 1, true) then
    return line
  end
  return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. indent .. "}"
end

function render(v, opts, depth, seen, indent)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "function" and opts.func then return opts.func(v) end
  if t ~= "table" then return tostring(v) end

  local mt = getmetatable(v)
  if type(mt) == "table" and rawget(mt, "__tostring") then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth >= opts.depth then return "{...}" end
  seen[v] = true
  local s = render_table(v, opts, depth, seen, indent)
  seen[v] = nil
  return s
end

function M.format(v, opts)
  opts = opts or {}
  local o = { width = opts.width or 72, depth = opts.depth or 6,
              items = opts.items or 200, func = opts.func }
  return render(v, o, 0, {}, "")
end

function M.bytes(n)
  if n < 1024 then return ("%d B"):format(n) end
  if n < 1024 * 1024 then return ("%.1f KB"):format(n / 1024) end
  return ("%.1f MB"):format(n / (1024 * 1024))
end

function M.columns(rows, cols)
  local cells, widths = {}, {}
  for c, col in ipairs(cols) do widths[c] = #col[1] end
  for r, row in ipairs(rows) do
    cells[r] = {}
    for c, col in ipairs(cols) do
      local v = row[col[2]]
      local s = v == nil and "-" or tostring(v)
      cells[r][c] = s
      if #s > widths[c] then widths[c] = #s end
    end
  end

  local function line(values)
    local out = {}
    for c, col in ipairs(cols) do
      local fmt = col.right and "%" .. widths[c] .. "s" or "%-" .. widths[c] .. "s"
      out[c] = fmt:format(values[c])
    end
    return (table.concat(out, "  "):gsub("%s+$", ""))
  end

  local header = {}
  for c, col in ipairs(cols) do header[c] = col[1] end
  local lines = { line(header) }
  for r = 1, #rows do lines[#lines + 1] = line(cells[r]) end
  return table.concat(lines, "\n")
end

return M
