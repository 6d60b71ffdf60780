-- The default dialplan: two demo phones and the services of the lab it
-- comes from (an Asterisk lab: echo test, recordings, music on hold, an
-- auto-attendant and an IVR).  Listens on loopback only; the demo secrets
-- are not usable from the network.  Copy this file and edit it; reload
-- with SIGHUP.
local pbx = require "lunapbx"
local ivr = require "lunapbx.ivr"
local apps = require "lunapbx.apps"

pbx.settings { listen = "127.0.0.1:5060", rtp_ports = "10000-20000" }

-- Templates are plain Lua functions.
local function phone(t)
  t.context = t.context or "internal"
  t.allow = t.allow or { "PCMU", "PCMA" }
  return t
end

pbx.endpoint "amine"        (phone { secret = "test",     callerid = '"Amine" <100>' })
pbx.endpoint "chhinyleboss" (phone { secret = "vitrygtr", callerid = '"Chhiny" <900>' })

local OPERATOR = "amine"    -- Asterisk's ${OPERATOR}

-- What a caller of the auto-attendant may dial while the menu plays.
pbx.context "aasiptrunk" {
  ["6000"] = function(call) call:dial("amine", { timeout = 20 }) end,
  ["6001"] = function(call) call:dial("chhinyleboss", { timeout = 20 }) end,
}

pbx.context "internal" {
  ["100"] = function(call) call:dial("amine", { timeout = 20 }) end,
  ["900"] = function(call) call:dial("chhinyleboss", { timeout = 20 }) end,

  -- answered by the PBX: 2 s of silence, then it hangs up
  ["_3XX"] = function(call)
    call:answer()
    pbx.sleep(2)
    call:hangup()
  end,

  -- echo test: Playback(demo-echotest), Echo; # ends it
  ["600"] = apps.echo_test,

  -- 4menu1 records "menu1" (press # when done), then plays it back:
  -- Record(${EXTEN:1}:gsm), Wait(1), Playback(${EXTEN:1}).  A recording
  -- is played instead of the stock prompt of the same name, so 4menu1 and
  -- 4menu2 change what 7 and 8 say.
  ["_4."] = function(call, exten)
    local name = exten:sub(2)
    call:record(name, { format = "gsm", beep = true, max_seconds = 60, silence_seconds = 5 })
    pbx.sleep(1)
    call:play(name)
    call:hangup()
  end,

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
