-- Specification of the voicemail flows' Lua side (lunapbx.voicemail,
-- lunapbx.vmmain): mailbox declarations, what is said (counts, dates),
-- and the deposit's decisions (full mailbox, too short, storage error,
-- VMSTATUS, hooks, e-mail), with the C side (_core.vm) and the call
-- played by fakes.

-- The C side: an in-memory mailbox store.
local function fake_core()
  local vm = { msgs = {}, next_id = 1, greetings = {}, pins = {}, mails = {},
               fail_deposit = nil }
  function vm.incoming() return "voicemail/incoming/in-1" end
  function vm.counts(box)
    if vm.fail_counts then return nil, vm.fail_counts end
    local c = { new = 0, old = 0, urgent = 0, total = 0 }
    for _, m in ipairs(vm.msgs) do
      if m.mailbox == box then
        c.total = c.total + 1
        if m.folder == "INBOX" then c.new = c.new + 1 end
        if m.folder == "Old" then c.old = c.old + 1 end
      end
    end
    return c
  end
  function vm.deposit(box, file, meta)
    if vm.fail_deposit then return nil, vm.fail_deposit end
    local id = vm.next_id
    vm.next_id = id + 1
    vm.msgs[#vm.msgs + 1] = { id = id, mailbox = box, folder = "INBOX", file = "voicemail/"
      .. box .. "/m-" .. id .. ".wav", duration = meta.duration, caller_num = meta.caller_num }
    return id
  end
  function vm.list(box)
    local out = {}
    for _, m in ipairs(vm.msgs) do if m.mailbox == box then out[#out + 1] = m end end
    return out
  end
  function vm.discard(file) vm.discarded = file return true end
  function vm.delete(box, id)
    for i, m in ipairs(vm.msgs) do
      if m.id == id then table.remove(vm.msgs, i) return true end
    end
    return nil, "No such file or directory"
  end
  function vm.greeting(box, kind) return vm.greetings[box .. "/" .. kind] end
  function vm.pin(box) return vm.pins[box] end
  function vm.set_pin(box, pin) vm.pins[box] = pin return true end
  function vm.remove_greeting(box, kind)
    local had = vm.greetings[box .. "/" .. kind]
    vm.greetings[box .. "/" .. kind] = nil
    return had and true or nil, "No such file or directory"
  end
  function vm.heard(box, id)
    for _, m in ipairs(vm.msgs) do
      if m.id == id and m.folder == "INBOX" then m.folder = "Old" end
    end
    return true
  end
  function vm.copy(box, id, to)
    vm.copied = { box, id, to }
    return vm.deposit(to, "x", { duration = 1 })
  end
  function vm.base64() return "QUJD" end
  function vm.sendmail(cmd, text, what)
    vm.mails[#vm.mails + 1] = { cmd = cmd, text = text, what = what }
    return true
  end
  return { vm = vm, logs = {}, log = function(level, msg)
    _G._core.logs[#_G._core.logs + 1] = level .. " " .. msg end }
end

-- A caller: records for `secs` seconds (or with `status`), hangs up when
-- asked; plays are noted.
local function fake_call(o)
  o = o or {}
  local call = { vars = {}, state = "ringing", hungup = false, played = {},
                 caller = "201", caller_name = "Bob", context = "internal" }
  function call:answer() self.state = "answered" return true end
  function call:hangup() self.hungup = true end
  function call:play(names, opts)
    self.played[#self.played + 1] = type(names) == "table" and table.concat(names, " ") or names
    if o.key and opts and opts.interrupt then
      local k = o.key
      o.key = nil
      return k, "digit"
    end
    return nil, "done"
  end
  function call:record(name, opts)
    self.recorded = { name = name, opts = opts }
    return o.secs or 5, o.status or "DTMF", name .. ".wav"
  end
  return call
end

local function fresh()
  _G._core = fake_core()
  package.loaded["lunapbx.voicemail"] = nil
  package.loaded["lunapbx.vmmain"] = nil
  return require "lunapbx.voicemail", _G._core.vm
end

describe("voicemail mailboxes", function()
  it("are declared with their fields and exported with their endpoints", function()
    local vm = fresh()
    vm.mailbox "6001" { pin = "6001", email = "root@localhost", endpoints = { "zoiper" } }
    vm.mailbox "100" { pin = "100", endpoint = "amine" }
    assert.same({ { number = "6001", endpoints = { "zoiper" } },
                  { number = "100", endpoints = { "amine" } } }, vm.export())
    assert.equal("6001", vm.pin("6001"))
  end)

  it("refuse what is not a mailbox", function()
    local vm = fresh()
    assert.has_error(function() vm.mailbox "a b" {} end)
    assert.has_error(function() vm.mailbox "6001" { colour = "red" } end)
    assert.has_error(function() vm.mailbox "6001" { pin = "12a" } end)
    vm.mailbox "6001" { pin = "1" }
    assert.has_error(function() vm.mailbox "6001" { pin = "1" } end)
    assert.has_error(function() vm.settings { format = "mp3" } end)
    assert.has_error(function() vm.settings { nope = 1 } end)
  end)

  it("take the PIN the owner set over the configured one", function()
    local vm, C = fresh()
    vm.mailbox "6001" { pin = "6001" }
    C.pins["6001"] = "4242"
    assert.equal("4242", vm.pin("6001"))
  end)
end)

describe("what VoiceMailMain says", function()
  local main
  before_each(function()
    fresh()
    main = require "lunapbx.vmmain"
  end)

  it("counts in English: singular for 1", function()
    assert.same({ "vm-youhave", "digits/1", "vm-new", "vm-message", "vm-and",
                  "digits/2", "vm-old-pl", "vm-messages" }, main.counts_prompts(1, 2, "en"))
    assert.same({ "vm-no-messages" }, main.counts_prompts(0, 0, "en"))
  end)

  it("counts in French: singular for 0 and 1, plural from 2", function()
    local p = main.counts_prompts(2, 0, "fr")
    assert.same({ "vm-youhave", "digits/2", "vm-new-pl", "vm-messages" }, p)
  end)

  it("says dates as prompts.txt describes", function()
    -- Monday 5 January 2026, 15:04 local time
    local t = os.time { year = 2026, month = 1, day = 5, hour = 15, min = 4 }
    assert.same({ "digits/on", "digits/day-1", "digits/mon-0", "digits/h-5", "digits/at",
                  "digits/3", "digits/oh", "digits/4", "digits/p-m" },
                main.date_prompts(t, "en"))
    assert.same({ "digits/on", "digits/day-1", "digits/5", "digits/mon-0", "digits/at",
                  "digits/15", "hours", "digits/4" }, main.date_prompts(t, "fr"))
  end)
end)

describe("a deposit", function()
  it("records after the stock greeting and returns SUCCESS", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    local hooked
    vm.on_deposit(function(msg) hooked = msg end)
    local call = fake_call { secs = 4.2 }
    assert.equal("SUCCESS", vm.deposit(call, "6002"))
    assert.equal("vm-theperson digits/6 digits/0 digits/0 digits/2 vm-isunavail",
                 call.played[1])
    assert.equal("vm-intro", call.played[2])
    assert.is_true(call.recorded.opts.beep)
    assert.equal(1, #C.msgs)
    assert.equal("201", C.msgs[1].caller_num)
    assert.equal(4.2, hooked.duration)
    assert.equal("voicemail/6002/m-1.wav", hooked.file)
    assert.is_true(call.hungup)
  end)

  it("files an urgent message in Urgent", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    local deposited
    local real = C.deposit
    C.deposit = function(box, file, meta) deposited = meta return real(box, file, meta) end
    vm.deposit(fake_call(), "6002", { urgent = true })
    assert.equal("Urgent", deposited.folder)
  end)

  it("plays the busy greeting, recorded or stock", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    local call = fake_call()
    vm.deposit(call, "6002", { greeting = "busy" })
    assert.matches("vm%-isonphone$", call.played[1])
    C.greetings["6002/busy"] = "voicemail/6002/greet-busy.wav"
    call = fake_call()
    vm.deposit(call, "6002", { greeting = "busy" })
    assert.equal("voicemail/6002/greet-busy.wav", call.played[1])
  end)

  it("leaves for the 'o' extension on 0 and 'a' on *, as Asterisk", function()
    local vm = fresh()
    vm.mailbox "6002" { pin = "6002" }
    local ran = {}
    package.loaded["lunapbx"] = { match = function(context, exten)
      if exten == "o" or exten == "a" then
        return function(call, e) ran[#ran + 1] = context .. ":" .. e end
      end
    end }
    assert.equal("USEREXIT", vm.deposit(fake_call { key = "0" }, "6002"))
    assert.equal("USEREXIT", vm.deposit(fake_call { key = "*" }, "6002"))
    assert.same({ "internal:o", "internal:a" }, ran)
    -- no such extension: the key is ignored, the message recorded
    package.loaded["lunapbx"] = { match = function() end }
    local call = fake_call { key = "0" }
    assert.equal("SUCCESS", vm.deposit(call, "6002"))
    package.loaded["lunapbx"] = nil
  end)

  it("says a full mailbox is full and records nothing", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002", max_messages = 1 }
    C.deposit("6002", "x", { duration = 3 })
    local call = fake_call()
    assert.equal("FAILED", vm.deposit(call, "6002"))
    assert.equal("vm-mailboxfull vm-goodbye", call.played[1])
    assert.is_nil(call.recorded)
  end)

  it("drops a message shorter than min_seconds", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002", min_seconds = 2 }
    local call = fake_call { secs = 1.5 }
    assert.equal("FAILED", vm.deposit(call, "6002"))
    assert.equal(0, #C.msgs)
    assert.equal("voicemail/incoming/in-1.wav", C.discarded)
    assert.equal("vm-tooshort", call.played[#call.played])
  end)

  it("apologises and logs when the storage fails", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    C.fail_deposit = "No space left on device"
    local call = fake_call()
    assert.equal("FAILED", vm.deposit(call, "6002"))
    assert.equal("im-sorry vm-disk-error", call.played[#call.played])
    assert.matches("No space left on device", table.concat(_G._core.logs, "\n"))
  end)

  it("e-mails the mailbox's owner with the audio attached", function()
    local vm, C = fresh()
    vm.settings { sendmail = "msmtp -t", from = "pbx@example.org" }
    vm.mailbox "6002" { pin = "6002", name = "Xlite", email = "x@example.org" }
    vm.deposit(fake_call { secs = 65 }, "6002")
    assert.equal(1, #C.mails)
    local text = C.mails[1].text
    assert.equal("msmtp -t", C.mails[1].cmd)
    assert.matches("To: Xlite <x@example.org>", text, 1, true)
    assert.matches("message of 1:05 in mailbox 6002, from Bob <201>", text, 1, true)
    assert.matches('Content-Disposition: attachment; filename="msg0001.wav"', text, 1, true)
    assert.matches("QUJD", text, 1, true)
  end)
end)

describe("VoiceMailMain", function()
  local media = require "lunapbx.media"

  -- A caller typing `keys` (one string per key; false: a timeout).
  local function keyed_call(keys)
    local call = fake_call()
    local q = {}
    for k in keys:gmatch(".") do q[#q + 1] = k end
    function call:play(names, opts)
      self.played[#self.played + 1] = type(names) == "table" and table.concat(names, " ") or names
      if opts and opts.interrupt and q[1] then return table.remove(q, 1), "digit" end
      if #q == 0 and not self.no_more then self.no_more = true end
      return nil, "done"
    end
    function call:read_digit()
      if #q == 0 then self.hungup = true return nil, "hangup" end
      return table.remove(q, 1), "digit"
    end
    for name, fn in pairs(media.methods({})) do call[name] = fn end
    return call
  end

  it("logs in with the mailbox and its PIN", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    C.deposit("6002", "x", { duration = 3 })
    local call = keyed_call("6002#6002##")
    assert.equal("exit", vm.main(call))
    assert.equal("6002", call.vars.vm_mailbox)
    assert.equal("vm-youhave digits/1 vm-new vm-message", call.played[3])
    assert.equal("vm-goodbye", call.played[#call.played])
  end)

  it("hangs up after three wrong PINs", function()
    local vm = fresh()
    vm.mailbox "6002" { pin = "6002" }
    local call = keyed_call("6002#1111#6002#2222#6002#3333#")
    assert.equal("FAILED", vm.main(call))
    assert.is_nil(call.vars.vm_mailbox)
    assert.is_true(call.hungup)
    local incorrect = 0
    for _, p in ipairs(call.played) do if p == "vm-incorrect" then incorrect = incorrect + 1 end end
    assert.equal(3, incorrect)
    assert.matches("3 failed logins", table.concat(_G._core.logs, "\n"))
  end)

  local function count(call, name)
    local n = 0
    for _, p in ipairs(call.played) do if p == name then n = n + 1 end end
    return n
  end

  it("goes back to the main menu with # in the message menu", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    C.deposit("6002", "x", { duration = 3 })
    -- 1 plays, # (in the envelope) back to the main menu, # goodbye
    local call = keyed_call("6002#6002#1##")
    assert.equal("exit", vm.main(call))
    assert.equal(1, count(call, "vm-main-menu"))
    assert.equal("vm-goodbye", call.played[#call.played])
  end)

  it("forwards a message with 8, then offers the message menu again", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    vm.mailbox "6003" { pin = "6003" }
    C.deposit("6002", "x", { duration = 3 })
    local call = keyed_call("6002#6002#18" .. "6003#" .. "##")
    assert.equal("exit", vm.main(call))
    assert.same({ "6002", 1, "6003" }, C.copied)
    assert.equal(1, count(call, "vm-forwarded"))
    assert.equal(1, count(call, "vm-msg-menu"))   -- not the message again
    assert.equal(1, #C.list("6003"))
  end)

  it("refuses to forward to a mailbox that does not exist", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    C.deposit("6002", "x", { duration = 3 })
    local call = keyed_call("6002#6002#18" .. "7777#" .. "##")
    assert.equal("exit", vm.main(call))
    assert.is_nil(C.copied)
    assert.equal(1, count(call, "vm-nobox"))
  end)

  it("removes the temporary greeting with 0 4 2", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    C.greetings["6002/temp"] = "voicemail/6002/greet-temp.wav"
    local call = keyed_call("6002#6002#042*#")
    assert.equal("exit", vm.main(call))
    assert.is_nil(C.greetings["6002/temp"])
    assert.equal(1, count(call, "vm-tempremoved"))
    assert.matches("temporary greeting removed", table.concat(_G._core.logs, "\n"))
  end)

  it("changes the PIN with 0 5, the new one twice", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    assert.equal("exit", vm.main(keyed_call("6002#6002#05" .. "4321#4321#" .. "*#")))
    assert.equal("4321", C.pins["6002"])
    assert.equal("4321", vm.pin("6002"))
    assert.equal("FAILED", vm.main(keyed_call("6002#6002#6002#6002#6002#6002#")))
    local call = keyed_call("6002#4321#05" .. "55#56#" .. "*#")     -- a mismatch
    assert.equal("exit", vm.main(call))
    assert.equal(1, count(call, "vm-mismatch"))
    assert.equal("4321", C.pins["6002"])
  end)

  it("takes a PIN the owner changed, not the configured one", function()
    local vm, C = fresh()
    vm.mailbox "6002" { pin = "6002" }
    C.pins["6002"] = "99"
    assert.equal("FAILED", vm.main(keyed_call("6002#6002#6002#6002#6002#6002#")))
    local call = keyed_call("6002#99##")
    assert.equal("exit", vm.main(call))
  end)
end)
