-- lunapbx.vmmain: VoiceMailMain, with Asterisk's key map.
--
--   ["9"] = function(call) vm.main(call) end       -- asks mailbox and PIN
--   vm.main(call, { mailbox = "6001" })             -- asks the PIN only
--   vm.main(call, { mailbox = "6001", skip_pin = true })
--
-- Login: mailbox number then #, PIN then #; three failures and it hangs
-- up.  Then "you have N new and M old messages" and the main menu:
--   1 play (new first, then old)   2 change folder   0 mailbox options
--   * help   # goodbye
-- While a message plays or after it:
--   3 advanced (2 call the caller back, 3 envelope)   4 previous
--   5 repeat   6 next   7 delete   8 forward to a mailbox
--   9 save to a folder (0 New, 1 Old, 2 Work, 3 Family, 4 Friends)
--   * help   # back to the main menu
-- Mailbox options (0): 1 unavailable greeting, 2 busy greeting, 3 name,
--   4 temporary greeting (record or remove), 5 PIN, * back.
-- Returns "hangup", "exit" or "FAILED" (login failed); after a login,
-- call.vars.vm_mailbox is the mailbox.

local vm = require "lunapbx.voicemail"
local numbers = require "lunapbx.numbers"

local C = _core.vm
local M = {}

local FOLDERS = { ["0"] = "INBOX", ["1"] = "Old", ["2"] = "Work", ["3"] = "Family",
                  ["4"] = "Friends" }
local MAX_TIMEOUTS = 3

local function log(level, fmt, ...) _core.log(level, fmt:format(...)) end

-- One entry ending with # (or the 10 s timeout).
local function ask(call, prompt)
  return call:collect { prompt = prompt, max = 32, timeout = 10, interdigit = 5,
                        terminator = "#" }
end

-- One key, the prompt interrupted by it.
local function key(call, prompt, timeout)
  return call:collect { prompt = prompt, max = 1, timeout = timeout or 10,
                        terminator = false }
end

local function append(t, list) for _, x in ipairs(list) do t[#t + 1] = x end end

---------------------------------------------------------------------------
-- What is said

local function say_count(p, n, lang, word, plural_word)
  append(p, numbers.prompts(n, lang))
  local plural = (lang == "fr") and n > 1 or (lang ~= "fr" and n ~= 1)
  p[#p + 1] = plural and plural_word or word
  p[#p + 1] = plural and "vm-messages" or "vm-message"
end

--- "You have 2 new messages and 1 old message" as a list of prompts.
function M.counts_prompts(new, old, lang)
  if new + old == 0 then return { "vm-no-messages" } end
  local p = { "vm-youhave" }
  if new > 0 then say_count(p, new, lang, "vm-new", "vm-new-pl") end
  if new > 0 and old > 0 then p[#p + 1] = "vm-and" end
  if old > 0 then say_count(p, old, lang, "vm-old", "vm-old-pl") end
  return p
end

--- The date and time of a message (see sounds/prompts.txt).
function M.date_prompts(t, lang)
  local d = os.date("*t", t)
  local p = { "digits/on", "digits/day-" .. (d.wday - 1) }
  if lang == "fr" then
    p[#p + 1] = d.day == 1 and "digits/h-1" or ("digits/" .. d.day)
    p[#p + 1] = "digits/mon-" .. (d.month - 1)
    p[#p + 1] = "digits/at"
    if d.hour == 0 then
      p[#p + 1] = "digits/midnight"
    else
      p[#p + 1] = d.hour == 1 and "digits/1F" or ("digits/" .. d.hour)
      p[#p + 1] = d.hour == 1 and "hour" or "hours"
    end
    if d.min > 0 then p[#p + 1] = "digits/" .. d.min end
    return p
  end
  p[#p + 1] = "digits/mon-" .. (d.month - 1)
  p[#p + 1] = "digits/h-" .. d.day
  p[#p + 1] = "digits/at"
  local h = d.hour % 12
  p[#p + 1] = "digits/" .. (h == 0 and 12 or h)
  if d.min == 0 then
    p[#p + 1] = "digits/oclock"
  else
    if d.min < 10 then p[#p + 1] = "digits/oh" end
    p[#p + 1] = "digits/" .. d.min
  end
  p[#p + 1] = d.hour < 12 and "digits/a-m" or "digits/p-m"
  return p
end

local function envelope(call, i, m, lang, full)
  local p = {}
  if i == 1 then
    p[1] = "vm-first"
  else
    p[1] = "vm-message-number"
    append(p, numbers.prompts(i, lang))
  end
  if full then
    p[#p + 1] = "vm-received"
    append(p, M.date_prompts(m.received, lang))
    if m.caller_num and m.caller_num:match("^[%d*#]+$") then
      p[#p + 1] = "vm-from"
      append(p, numbers.digits(m.caller_num))
    else
      p[#p + 1] = "vm-from-unknown"
    end
  end
  return call:play(p, { interrupt = true })
end

---------------------------------------------------------------------------
-- Login

local function login(call, opts)
  local tries = vm.setting("tries")
  for _ = 1, tries do
    local number = opts.mailbox or ask(call, "vm-login")
    if call.hungup then return nil, "hangup" end
    local box = number and vm.box(number)
    if box and opts.skip_pin then
      call.vars.vm_mailbox = number
      return box
    end
    local pin = ask(call, "vm-password")
    if call.hungup then return nil, "hangup" end
    if box and pin and pin == vm.pin(number) then
      log("info", "voicemail %s: logged in from %s", number, tostring(call.caller))
      call.vars.vm_mailbox = number
      return box
    end
    log("info", "voicemail: login to mailbox %s from %s refused", tostring(number),
        tostring(call.caller))
    call:play("vm-incorrect")
  end
  log("warn", "voicemail: %d failed logins from %s: hanging up", tries, tostring(call.caller))
  call:play("vm-goodbye")
  call:hangup()
  return nil, "FAILED"
end

---------------------------------------------------------------------------
-- Messages

-- Call the message's caller back: its number in the caller's context.
local function call_back(call, m)
  local fn = m.caller_num and require("lunapbx").match(call.context, m.caller_num)
  if not fn then
    call:play("vm-nobox")
    return false
  end
  log("info", "voicemail %s: calling back %s", m.mailbox, m.caller_num)
  fn(call, m.caller_num)
  return true
end

local function forward(call, box, m)
  local to = ask(call, "vm-forward-enter")
  if not to or not vm.box(to) then
    if not call.hungup then call:play("vm-nobox") end
    return
  end
  local id, err = C.copy(box.number, m.id, to)
  if id then
    log("info", "voicemail %s: message %d forwarded to %s (%d)", box.number, m.id, to, id)
    call:play("vm-forwarded")
  else
    log("error", "voicemail %s: forward to %s: %s", box.number, to, err)
    call:play({ "im-sorry", "vm-disk-error" })
  end
end

-- One message menu key; returns the new index, or a word to leave.
local function act(call, box, list, i, k, lang)
  local m = list[i]
  if k == "4" then return math.max(1, i - 1) end
  if k == "5" then return i end
  if k == "6" then return i + 1 end
  if k == "7" then
    if C.delete(box.number, m.id) then call:play("vm-deleted") end
    table.remove(list, i)
    return i
  end
  if k == "9" then
    local f = key(call, "vm-savefolder")
    local folder = f and FOLDERS[f]
    if folder and C.move(box.number, m.id, folder) then
      call:play("vm-saved")
      table.remove(list, i)
    end
    return i
  end
  if k == "8" then          -- then the message menu again, as Asterisk
    forward(call, box, m)
    return { menu = i }
  end
  if k == "3" then
    local a = key(call, "vm-advopts")
    if a == "2" and call_back(call, m) then return "callback" end
    if a == "3" then envelope(call, i, m, lang, true) end
    return { menu = i }
  end
  if k == "#" then return "back" end      -- to the main menu
  return { menu = i }      -- * (help), a timeout: the menu again
end

local function play_messages(call, box, list, lang)
  local i, timeouts, fresh = 1, 0, true
  while not call.hungup do
    if i > #list then
      call:play("vm-no-more")
      return "done"
    end
    local m, k = list[i], nil
    if fresh then
      k = envelope(call, i, m, lang, true)
      if not k then k = call:play(m.file, { interrupt = true }) end
      if not m.heard then
        C.heard(box.number, m.id)
        m.heard = true
      end
      fresh = false
    end
    if call.hungup then break end
    k = k or key(call, "vm-msg-menu")
    if not k then
      timeouts = timeouts + 1
      if timeouts >= MAX_TIMEOUTS then return "timeout" end
    else
      timeouts = 0
      local r = act(call, box, list, i, k, lang)
      if type(r) == "number" then
        i, fresh = r, true
      elseif type(r) == "string" then
        return r
      end
    end
  end
  return "hangup"
end

local function messages_of(box, folder)
  local out = {}
  if folder then return C.list(box.number, folder) or out end
  append(out, C.list(box.number, "INBOX") or {})
  append(out, C.list(box.number, "Urgent") or {})
  append(out, C.list(box.number, "Old") or {})
  return out
end

---------------------------------------------------------------------------
-- Mailbox options

local function record_greeting(call, box, kind, prompt)
  call:play(prompt)
  local name = C.incoming()
  if not name or call.hungup then return end
  log("info", "voicemail %s: recording the %s greeting", box.number, kind)
  local secs, status, file = call:record(name, {
    format = vm.setting("format"), beep = true, terminator = "#",
    max_seconds = 60, silence_seconds = 5,
  })
  if status == "ERROR" or secs < 0.5 then
    if file then C.discard(file) end
    if not call.hungup then call:play("vm-tooshort") end
    return
  end
  local ok, err = C.set_greeting(box.number, kind, file)
  if ok then
    log("info", "voicemail %s: %s greeting recorded (%.1f s)", box.number, kind, secs)
    if not call.hungup then call:play("recorded") end
  else
    C.discard(file)
    log("error", "voicemail %s: %s greeting: %s", box.number, kind, err)
    if not call.hungup then call:play({ "im-sorry", "vm-disk-error" }) end
  end
end

local function change_pin(call, box)
  local new = ask(call, "vm-newpassword")
  if not new or not new:match("^%d+$") then return end
  local again = ask(call, "vm-reenterpassword")
  if again ~= new then
    if not call.hungup then call:play("vm-mismatch") end
    return
  end
  if C.set_pin(box.number, new) then
    log("info", "voicemail %s: PIN changed", box.number)
    call:play("vm-passchanged")
  else
    call:play({ "im-sorry", "vm-disk-error" })
  end
end

local function options(call, box)
  local timeouts = 0
  while not call.hungup do
    local k = key(call, "vm-options")
    if k == "1" then record_greeting(call, box, "unavail", "vm-rec-unavail")
    elseif k == "2" then record_greeting(call, box, "busy", "vm-rec-busy")
    elseif k == "3" then record_greeting(call, box, "name", "vm-rec-name")
    elseif k == "4" then
      local r = C.greeting(box.number, "temp") and key(call, "vm-tempgreeting2") or "1"
      if r == "1" then record_greeting(call, box, "temp", "vm-rec-temp")
      elseif r == "2" and C.remove_greeting(box.number, "temp") then
        log("info", "voicemail %s: temporary greeting removed", box.number)
        call:play("vm-tempremoved")
      end
    elseif k == "5" then change_pin(call, box)
    elseif k == "*" or k == "#" then return
    elseif not k then
      timeouts = timeouts + 1
      if timeouts >= MAX_TIMEOUTS then return end
    end
  end
end

---------------------------------------------------------------------------
-- VoiceMailMain

function M.main(call, opts)
  opts = opts or {}
  if call.state ~= "answered" and not call:answer() then return "hangup" end
  local box, why = login(call, opts)
  if not box then return why end
  if box.language then call.vars.language = box.language end
  local lang = call.vars.language or "en"

  local c = C.counts(box.number)
  if not c then
    call:play({ "im-sorry", "vm-disk-error", "vm-goodbye" })
    call:hangup()
    return "FAILED"
  end
  local k = call:play(M.counts_prompts(c.new, c.old, lang), { interrupt = true })
  local timeouts = 0
  while not call.hungup do
    k = k or key(call, "vm-main-menu")
    local r
    if k == "1" or k == "2" then
      local folder
      if k == "2" then
        local f = key(call, "vm-changeto")
        folder = f and FOLDERS[f]
      end
      local list = messages_of(box, folder)
      if #list == 0 then
        call:play("vm-no-messages")
      else
        r = play_messages(call, box, list, lang)
      end
    elseif k == "0" then
      options(call, box)
    elseif k == "#" then
      r = "exit"
    elseif k == "*" then
      k = call:play("vm-main-help", { interrupt = true })
      goto next
    elseif not k then
      timeouts = timeouts + 1
      if timeouts >= MAX_TIMEOUTS then r = "exit" end
    end
    if r == "callback" then return "exit" end
    if r == "exit" or r == "timeout" then
      call:play("vm-goodbye")
      call:hangup()
      return "exit"
    end
    k = nil
    ::next::
  end
  return "hangup"
end

return M
