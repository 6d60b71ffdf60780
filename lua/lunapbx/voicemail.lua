-- lunapbx.voicemail: mailboxes (voicemail.conf), the deposit flow
-- (Asterisk's VoiceMail()), e-mail, hooks, and the mailbox functions the
-- dialplan and the console use.  VoiceMailMain is lunapbx.vmmain.  Both
-- are plain Lua on call:play / call:record / call:collect: copy them and
-- change what you like.
--
--   local vm = require "lunapbx.voicemail"
--   vm.settings { sendmail = "/usr/sbin/sendmail -t", from = "pbx@example.org" }
--   vm.mailbox "6001" { pin = "6001", name = "Zoiper", email = "root@localhost",
--                       attach = true, endpoints = { "zoiper" } }
--   ["6001"] = function(call)
--     local status = call:dial("zoiper", { timeout = 20 })
--     if status == "BUSY" then return vm.deposit(call, "6001", { greeting = "busy" }) end
--     if status ~= "ANSWER" then return vm.deposit(call, "6001") end
--   end,
--   ["9"] = function(call) vm.main(call) end,
--
-- The C side (_core.vm, core/voicemail/) keeps the files and their index;
-- a message exists once its audio is whole on the disk.

local core = _core
local C = core.vm

local M = {}

-- Configuration of this generation (require is per generation).
local boxes, order = {}, {}
local conf = {
  format = "wav",             -- "wav" or "gsm" (Asterisk's format=)
  sendmail = "/usr/sbin/sendmail -t",
  from = "voicemail@lunapbx", -- Asterisk's serveremail
  min_seconds = 1,            -- minsecs: shorter messages are dropped
  max_seconds = 300,          -- maxsecs (maxmessage)
  silence_seconds = 10,       -- maxsilence
  max_messages = 100,         -- maxmsg
  attach = true,              -- attach=yes
  tries = 3,                  -- maxlogins
}
local hooks = {}

local function lunapbx() return require "lunapbx" end
local function log(level, fmt, ...) core.log(level, fmt:format(...)) end

local BOX_FIELDS = {
  pin = "string", name = "string", email = "string", attach = "boolean",
  delete = "boolean", max_messages = "number", max_seconds = "number",
  min_seconds = "number", language = "string", endpoints = "table",
  endpoint = "string", context = "string", operator = "string",
}

--- vm.mailbox "6001" { pin=, name=, email=, attach=, delete=, max_messages=,
---   max_seconds=, min_seconds=, language=, endpoints= }
function M.mailbox(number)
  if type(number) ~= "string" or not number:match("^[%w_+-]+$") or #number > 32 then
    error("vm.mailbox: a number of 1 to 32 letters, digits, _-+ is needed", 2)
  end
  return function(t)
    if type(t) ~= "table" then error(("vm.mailbox '%s': expects a table"):format(number), 2) end
    if boxes[number] then error(("vm.mailbox '%s' declared twice"):format(number), 2) end
    local box = { number = number }
    for k, v in pairs(t) do
      local want = BOX_FIELDS[k]
      if not want then error(("vm.mailbox '%s': unknown field '%s'"):format(number, tostring(k)), 2) end
      if type(v) ~= want then
        error(("vm.mailbox '%s': '%s' must be a %s"):format(number, k, want), 2)
      end
      box[k] = v
    end
    if box.pin and not box.pin:match("^%d+$") then
      error(("vm.mailbox '%s': the pin is digits"):format(number), 2)
    end
    box.endpoints = box.endpoints or (box.endpoint and { box.endpoint }) or {}
    box.endpoint = nil
    for i, ep in ipairs(box.endpoints) do
      if type(ep) ~= "string" then
        error(("vm.mailbox '%s': endpoints[%d] is not a name"):format(number, i), 2)
      end
    end
    boxes[number] = box
    order[#order + 1] = number
    return box
  end
end

--- vm.settings { format=, sendmail=, from=, min_seconds=, max_seconds=,
---   silence_seconds=, max_messages=, attach=, tries= }
function M.settings(t)
  if type(t) ~= "table" then error("vm.settings expects a table", 2) end
  for k, v in pairs(t) do
    if conf[k] == nil then error(("vm.settings: unknown setting '%s'"):format(tostring(k)), 2) end
    if type(v) ~= type(conf[k]) then
      error(("vm.settings: '%s' must be a %s"):format(k, type(conf[k])), 2)
    end
    conf[k] = v
  end
  if conf.format ~= "wav" and conf.format ~= "gsm" then
    error("vm.settings: format is \"wav\" or \"gsm\"", 2)
  end
end

--- vm.on_deposit(function(msg) ... end): runs after each message is
--- stored (msg: mailbox, id, file, duration, caller_num, caller_name,
--- received); for a transcription, a webhook, a notification.
function M.on_deposit(fn)
  if type(fn) ~= "function" then error("vm.on_deposit expects a function", 2) end
  hooks[#hooks + 1] = fn
end

--- The mailbox table of a number, or nil.
function M.box(number) return boxes[number] end

--- Every mailbox, in declaration order.
function M.boxes()
  local out = {}
  for i, n in ipairs(order) do out[i] = boxes[n] end
  return out
end

-- For the core (lunapbx._export): which endpoints each mailbox lights.
function M.export()
  local out = {}
  for i, n in ipairs(order) do
    out[i] = { number = n, endpoints = boxes[n].endpoints }
  end
  return out
end

function M.setting(name) return conf[name] end

---------------------------------------------------------------------------
-- Mailbox functions (dialplan, console)

--- vm.counts("6001") -> new, old, urgent (nil, why on a storage error)
function M.counts(number)
  local c, err = C.counts(number)
  if not c then return nil, err end
  return c.new, c.old, c.urgent
end

--- vm.list("6001" [, folder]) -> { {id=, folder=, caller_num=, received=, duration=, heard=, file=}, ... }
function M.list(number, folder) return C.list(number, folder) end

--- vm.delete("6001", id)   vm.save("6001", id, "Work")
function M.delete(number, id) return C.delete(number, id) end
function M.save(number, id, folder) return C.move(number, id, folder) end

--- The PIN in force: the one the owner chose (option 5), else the
--- configuration's.
function M.pin(number)
  local box = boxes[number]
  return C.pin(number) or (box and box.pin)
end

---------------------------------------------------------------------------
-- Saying things

local function lang_of(call, box)
  return (box and box.language) or call.vars.language
end

-- "I am sorry ..." and a log line: the storage failed.
local function apology(call, box, why)
  log("error", "voicemail %s: cannot store the message: %s", box.number, tostring(why))
  if not call.hungup then
    call:play({ "im-sorry", "vm-disk-error" }, { language = lang_of(call, box) })
  end
end

-- Asterisk's greetings: temporary, else the recorded busy/unavailable
-- one, else the stock one (the recorded name, or "the person at
-- extension" and the number; "is on the phone" / "is not available").
local function greeting(call, box, kind)
  local tmp = C.greeting(box.number, "temp")
  if tmp then return { tmp } end
  local rec = C.greeting(box.number, kind == "busy" and "busy" or "unavail")
  if rec then return { rec } end
  local out = {}
  local name = C.greeting(box.number, "name")
  if name then
    out[#out + 1] = name
  else
    out[#out + 1] = "vm-theperson"
    for d in box.number:gmatch("%d") do out[#out + 1] = "digits/" .. d end
  end
  out[#out + 1] = kind == "busy" and "vm-isonphone" or "vm-isunavail"
  return out
end

-- The extension a key leads to (Asterisk's 'o' and 'a'): run it.
local function exit_to(call, exten, box)
  local context = box.context or call.context
  local fn = lunapbx().match(context, exten)
  if not fn then
    log("info", "voicemail %s: no extension '%s' in %s: key ignored", box.number, exten, context)
    return false
  end
  log("info", "voicemail %s: caller leaves for %s@%s", box.number, exten, context)
  fn(call, exten)
  return true
end

---------------------------------------------------------------------------
-- E-mail

local function mail_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S +0000", t)
end

local function caller_text(msg)
  if msg.caller_name and msg.caller_num then
    return ("%s <%s>"):format(msg.caller_name, msg.caller_num)
  end
  return msg.caller_num or msg.caller_name or "an unknown caller"
end

--- The e-mail of a new message (Asterisk's emailbody), as text with
--- headers; the audio attached unless attach = false.
function M.mail_text(box, msg)
  local boundary = ("lunapbx-%d-%d"):format(msg.id, msg.received)
  local secs = math.floor(msg.duration + 0.5)
  local lines = {
    "From: " .. conf.from,
    ("To: %s <%s>"):format(box.name or box.number, box.email),
    ("Subject: New voicemail %d in mailbox %s"):format(msg.id, box.number),
    "Date: " .. mail_date(msg.received),
    "MIME-Version: 1.0",
    ('Content-Type: multipart/mixed; boundary="%s"'):format(boundary),
    "",
    "--" .. boundary,
    "Content-Type: text/plain; charset=UTF-8",
    "",
    ("Dear %s:"):format(box.name or box.number),
    "",
    ("You have a new message of %d:%02d in mailbox %s, from %s, left on %s."):format(
      secs // 60, secs % 60, box.number, caller_text(msg), os.date("%Y-%m-%d %H:%M", msg.received)),
    "",
  }
  local attach = box.attach
  if attach == nil then attach = conf.attach end
  if attach then
    local ext = msg.file:match("%.(%w+)$")
    local data, err = C.base64(msg.file)
    if not data then return nil, err end
    local fname = ("msg%04d.%s"):format(msg.id, ext)
    lines[#lines + 1] = "--" .. boundary
    lines[#lines + 1] = ('Content-Type: %s; name="%s"'):format(
      ext == "gsm" and "audio/x-gsm" or "audio/x-wav", fname)
    lines[#lines + 1] = "Content-Transfer-Encoding: base64"
    lines[#lines + 1] = ('Content-Disposition: attachment; filename="%s"'):format(fname)
    lines[#lines + 1] = ""
    lines[#lines + 1] = data
  end
  lines[#lines + 1] = "--" .. boundary .. "--"
  lines[#lines + 1] = ""
  return table.concat(lines, "\r\n")
end

local function send_mail(box, msg)
  local text, err = M.mail_text(box, msg)
  if not text then
    log("warn", "voicemail %s: no e-mail for message %d: %s", box.number, msg.id, err)
    return false
  end
  local ok, why = C.sendmail(conf.sendmail, text,
    ("voicemail %s message %d to %s"):format(box.number, msg.id, box.email))
  if not ok then
    log("warn", "voicemail %s: cannot run '%s': %s", box.number, conf.sendmail, why)
  end
  return ok
end

local function after_deposit(box, msg)
  if box.email then
    local sent = send_mail(box, msg)
    if sent and box.delete then C.delete(box.number, msg.id) end   -- delete=yes
  end
  for _, fn in ipairs(hooks) do
    local ok, err = pcall(fn, msg)
    if not ok then log("error", "voicemail %s: on_deposit hook: %s", box.number, tostring(err)) end
  end
end

---------------------------------------------------------------------------
-- Deposit: Asterisk's VoiceMail(box, u|b)

--- vm.deposit(call, "6001" [, { greeting = "unavail"|"busy", skip_greeting = true,
---                               urgent = true }])
--- -> VMSTATUS: "SUCCESS", "USEREXIT" (left with 0 or *), "FAILED"
function M.deposit(call, number, opts)
  opts = opts or {}
  local box = boxes[number]
  local status = "FAILED"
  if call.state ~= "answered" and not call:answer() then return status end
  if not box then
    log("warn", "voicemail: no mailbox %s", tostring(number))
    call:play({ "vm-nobox", "vm-goodbye" })
    call:hangup()
    return status
  end
  local lang = lang_of(call, box)
  local popts = { interrupt = "#0*", language = lang }

  local c, err = C.counts(number)
  if not c then
    apology(call, box, err)
    call:hangup()
    return status
  end
  if c.total >= (box.max_messages or conf.max_messages) then
    log("warn", "voicemail %s: mailbox full (%d messages)", number, c.total)
    call:play({ "vm-mailboxfull", "vm-goodbye" }, { language = lang })
    call:hangup()
    return status
  end

  -- the greeting, then "leave your message": # skips, 0 and * leave
  local key
  if not opts.skip_greeting then
    key = call:play(greeting(call, box, opts.greeting), popts)
  end
  if not key and not call.hungup then key = call:play("vm-intro", popts) end
  if key == "0" and exit_to(call, box.operator or "o", box) then return "USEREXIT" end
  if key == "*" and exit_to(call, "a", box) then return "USEREXIT" end
  if call.hungup then return status end

  local name = C.incoming()
  if not name then
    apology(call, box, "no storage")
    call:hangup()
    return status
  end
  log("info", "voicemail %s: recording a message from %s", number, tostring(call.caller))
  local secs, rstatus, file = call:record(name, {
    format = conf.format, beep = true, terminator = "#",
    max_seconds = box.max_seconds or conf.max_seconds,
    silence_seconds = conf.silence_seconds,
  })
  if rstatus == "ERROR" then
    if file then C.discard(file) end
    apology(call, box, "the recording could not be written")
    call:hangup()
    return status
  end
  if secs < (box.min_seconds or conf.min_seconds) then
    C.discard(file)
    log("info", "voicemail %s: %.1f s message dropped (min_seconds %s)", number, secs,
        box.min_seconds or conf.min_seconds)
    if not call.hungup then call:play("vm-tooshort", { language = lang }) end
    call:hangup()
    return status
  end

  local id
  id, err = C.deposit(number, file, {
    caller_num = call.caller, caller_name = call.caller_name, duration = secs,
    folder = opts.urgent and "Urgent" or nil,
  })
  if not id then
    C.discard(file)
    apology(call, box, err)
    call:hangup()
    return status
  end
  log("info", "voicemail %s: message %d from %s, %.1f s (%s)", number, id,
      tostring(call.caller), secs, rstatus)
  call.vars.vmstatus = "SUCCESS"
  if not call.hungup then
    call:play({ "vm-msgsaved", "vm-goodbye" }, { language = lang })
    call:hangup()
  end
  after_deposit(box, { mailbox = number, id = id, duration = secs, caller_num = call.caller,
                       caller_name = call.caller_name, received = os.time(),
                       file = M.file_of(number, id) })
  return "SUCCESS"
end

--- The sound name of a message (for call:play), or nil.
function M.file_of(number, id)
  for _, m in ipairs(C.list(number) or {}) do
    if m.id == id then return m.file end
  end
end

--- VoiceMailMain: lunapbx.vmmain.main(call [, opts])
function M.main(call, opts)
  return require("lunapbx.vmmain").main(call, opts)
end

return M
