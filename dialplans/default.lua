-- The default dialplan: the seed lab's phones and the services of the lab it
-- comes from (an Asterisk lab: transfers, voicemail, echo test, recordings,
-- music on hold, an auto-attendant and an IVR).  Listens on loopback only;
-- the demo secrets are not usable from the network.  Copy this file and
-- edit it; reload with SIGHUP.
local pbx = require "lunapbx"
local ivr = require "lunapbx.ivr"
local apps = require "lunapbx.apps"
local vm = require "lunapbx.voicemail"
local queue = require "lunapbx.queue"
local confbridge = require "lunapbx.confbridge"
local parking = require "lunapbx.parking"
local pickup = require "lunapbx.pickup"
local followme = require "lunapbx.followme"

pbx.settings { listen = "127.0.0.1:5060", rtp_ports = "10000-20000" }
-- Events, commands and metrics over HTTP (README, Operations), off as
-- Asterisk's AMI is until asked for; then on 127.0.0.1:8088:
--   pbx.settings { http = { tokens = { ops = "a-long-random-secret" } } }
--   python3 bench/events.py --token a-long-random-secret

-- Templates are plain Lua functions.
local function phone(t)
  t.context = t.context or "internal"
  t.allow = t.allow or { "PCMU", "PCMA" }
  return t
end

pbx.endpoint "amine"        (phone { secret = "test",     callerid = '"Amine" <100>' })
pbx.endpoint "chhinyleboss" (phone { secret = "vitrygtr", callerid = '"Chhiny" <900>' })
-- sip.conf's callgroup=1, pickupgroup=1 on the four lab phones: *8 on
-- one of them picks up a call ringing another.
local function group1(t) t.callgroup = 1; t.pickupgroup = 1; return phone(t) end
pbx.endpoint "zoiper"       (group1 { secret = "vitrygtr", callerid = '"Zoiper" <6001>' })
pbx.endpoint "xlite"        (group1 { secret = "vitrygtr", callerid = '"Xlite" <6002>' })
pbx.endpoint "blink"        (group1 { secret = "vitrygtr", callerid = '"Blink" <6003>' })
pbx.endpoint "bria"         (group1 { secret = "vitrygtr", callerid = '"Bria" <6004>' })

-- features.conf: blindxfer => #1, atxfer => *2, in a call placed with
-- Dial's tT options (stdexten below): #1 then a number transfers the other
-- party there; *2 then a number calls it first (hang up to complete, *1 to
-- come back).  A phone's own transfer button (REFER) works too.
pbx.features { blindxfer = "#1", atxfer = "*2" }

-- voicemail.conf: every number has a mailbox of the same number, its PIN
-- the number (6000=>6000,...,root@localhost,,|attach=yes|delete=0);
-- `endpoints` is the phone whose lamp it lights (sip.conf's mailbox=).
vm.settings { format = "wav" }
local PHONES = { ["100"] = "amine", ["900"] = "chhinyleboss", ["6001"] = "zoiper",
                 ["6002"] = "xlite", ["6003"] = "blink", ["6004"] = "bria" }
for _, number in ipairs { "100", "900", "6001", "6002", "6003", "6004" } do
  vm.mailbox(number) { pin = number, email = "root@localhost", attach = true,
                       endpoints = { PHONES[number] } }
end

local OPERATOR = "xlite"    -- Asterisk's ${OPERATOR} (the seed lab's)

-- res_parking.conf: parkext 700, parkpos 701-720, 45 s, then the call
-- rings the parker back (comebacktoorigin), then the operator, then the
-- parker's voicemail.  `include = { "parkedcalls" }` below makes 700 and
-- 701-720 dialable; #1 700 (or a phone's transfer to 700) parks the other
-- party and says the space.
parking.lot "default" { exten = "700", slots = "701-720", timeout = 45,
                        comebacktoorigin = true, operator = OPERATOR }

-- followme.conf [6001]: 100 then 900, 15 s each; the callee presses 1 to
-- take the call, 2 to decline.
followme.user "6001" { numbers = { { "100", timeout = 15 }, { "900", timeout = 15 } },
                       takecall = "1", declinecall = "2" }

-- The lab's stdexten: ring 20 s; busy: voicemail with the busy greeting;
-- no answer: the unavailable greeting; anything else (the caller hung
-- up, the phone is not registered, congestion): hang up.  With a
-- follow-me (6001), it runs between the ring and voicemail.
local function stdexten(call, endpoint, mailbox, fm)
  local status = call:dial(endpoint, { timeout = 20, options = "tT" })
  if fm and (status == "BUSY" or status == "NOANSWER") then
    local r = followme.run(call, fm)
    if r ~= "NOANSWER" then return end       -- talked, or the caller left
  end
  if status == "BUSY" then
    return vm.deposit(call, mailbox, { greeting = "busy" })
  elseif status == "NOANSWER" then
    return vm.deposit(call, mailbox, { greeting = "unavail" })
  end
  call:hangup()                     -- CANCEL, CHANUNAVAIL, CONGESTION
end


-- queues.conf: [general] persistentmembers=yes, autofill=yes,
-- shared_lastcall=yes (an agent's last call counts in every queue);
-- [StandardQueue](!) musicclass=default, strategy=rrmemory, joinempty=no,
-- leavewhenempty=yes, ringinuse=no; Asterisk's timeout 15 s, retry 5 s.
queue.template "StandardQueue" {
  musicclass = "default", strategy = "rrmemory", joinempty = "no",
  leavewhenempty = "yes", ringinuse = false, autofill = true,
  persistentmembers = true, timeout = 15, retry = 5,
}
queue.define "support" { template = "StandardQueue", number = "7001", members = { "xlite", "bria" } }
queue.define "sales"   { template = "StandardQueue", number = "7002", members = { "zoiper", "blink" } }

-- What a caller of the auto-attendant may dial while the menu plays.
pbx.context "aasiptrunk" {
  ["6000"] = function(call) call:dial("amine", { timeout = 20 }) end,
  ["6001"] = function(call) call:dial("chhinyleboss", { timeout = 20 }) end,
}

pbx.context "internal" {
  include = { "parkedcalls" },    -- 700 parks, 701-720 retrieve

  ["100"]  = function(call) stdexten(call, "amine", "100") end,
  ["900"]  = function(call) stdexten(call, "chhinyleboss", "900") end,
  ["6001"] = function(call) stdexten(call, "zoiper", "6001", "6001") end,
  ["6002"] = function(call) stdexten(call, "xlite", "6002") end,
  ["6003"] = function(call) stdexten(call, "blink", "6003") end,
  ["6004"] = function(call) stdexten(call, "bria", "6004") end,

  -- features.conf's pickupexten: a call ringing a phone of my pickup
  -- groups; **6002: the call ringing 6002 (Asterisk's Pickup())
  ["*8"] = pickup.group,
  ["_**X."] = function(call, exten) pickup.directed(call, exten:sub(3)) end,

  -- VoiceMailMain: mailbox then #, PIN then # (lunapbx/vmmain.lua)
  ["9"] = function(call) vm.main(call) end,

  -- leaving a message, 0 reaches the operator (Asterisk's 'o')
  ["o"] = function(call) call:dial(OPERATOR, { timeout = 20 }) end,

  -- answered by the PBX: 2 s of silence, then it hangs up
  ["_3XX"] = function(call)
    call:answer()
    pbx.sleep(2)
    call:hangup()
  end,

  -- conference room main, Confbridge(main) with ConfBridge's default
  -- profiles: no PIN, join and leave sounds, "you are the only person";
  -- keys: 1 mute, 4/6 and 7/9 volumes, 8 leave, * the menu said
  ["6"] = function(call) confbridge.join(call, "main") end,

  -- echo test: Playback(demo-echotest), Echo; # ends it
  ["600"] = apps.echo_test,

  -- 4menu1 records "menu1" (press # when done), then plays it back:
  -- Record(${EXTEN:1}:gsm), Wait(1), Playback(${EXTEN:1}).  A recording
  -- is played instead of the stock prompt of the same name, so 4menu1 and
  -- 4menu2 change what 7 and 8 say.
  ["_4."] = function(call, exten)
    local name = exten:sub(2)
    if not name:match("^[%w_-]+$") then return call:hangup(404) end
    call:record(name, { format = "gsm", beep = true, max_seconds = 60, silence_seconds = 5 })
    pbx.sleep(1)
    call:play(name)
    call:hangup()
  end,

  -- the queues (Verbose, Queue(support), Hangup): music while waiting,
  -- the agents rung by rrmemory, QUEUESTATUS in the log
  ["7001"] = function(call)
    pbx.log("info", "%s <%s> entering the support queue", call.caller_name or "", call.caller or "")
    local status = queue.join(call, "support")
    pbx.log("info", "support queue: %s", status)
    call:hangup()
  end,
  ["7002"] = function(call)
    pbx.log("info", "%s <%s> entering the sales queue", call.caller_name or "", call.caller or "")
    local status = queue.join(call, "sales")
    pbx.log("info", "sales queue: %s", status)
    call:hangup()
  end,
  -- agents: *457001 logs the phone in to support (again: out), *457002
  -- sales; *46 pauses (again: unpauses) it in every queue it is in
  ["_*45X."] = function(call, exten)
    for _, name in ipairs(queue.names()) do
      if queue.get(name).number == exten:sub(4) then return queue.agent_login(call, name) end
    end
    call:hangup(404)
  end,
  ["*46"] = function(call) queue.agent_pause(call) end,

  -- music on hold for 30 s
  ["8100"] = function(call)
    call:answer()
    call:moh("default", 30)
    call:hangup()
  end,

  -- auto-attendant: dial any extension of aasiptrunk while the menu plays;
  -- nothing for 10 s: the operator (Background(menu1), WaitExten(10))
  ["7"] = function(call)
    ivr.menu(call, { prompt = "menu1", context = "aasiptrunk", timeout = 10,
                     no_input = false, invalid = "pbx-invalid", fallback = OPERATOR })
  end,

  -- IVR: 1 reception, 2 computers, 3 clothing; 6000/6001 work too;
  -- nothing for 10 s: the operator
  ["8"] = function(call)
    ivr.menu(call, {
      prompt = "menu2", context = "aasiptrunk", timeout = 10, no_input = false,
      options = { ["1"] = "amine", ["2"] = "chhinyleboss", ["3"] = { "amine", "chhinyleboss" } },
      invalid = "invalid", fallback = OPERATOR,
    })
  end,
}
