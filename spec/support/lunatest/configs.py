"""Configurations the end-to-end files share."""

_BASIC = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%(rtp)s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>', allow = { "PCMA" } }
pbx.endpoint "carol" { secret = "carolpw", context = "internal", callerid = '"Carol" <203>' }
pbx.context "internal" {
  ["201"] = function(call) call:dial("alice", { timeout = 20 }) end,
  ["202"] = function(call) local st, code = call:dial("bob", { timeout = 5 }) pbx.log("info", "dial status " .. st) end,
  ["_3XX"] = function(call, exten) call:answer() pbx.sleep(1) call:hangup() end,
  ["500"] = function(call) error("boom") end,
%(extensions)s}
"""


def basic_config(net, extensions=""):
    """Three endpoints, alice (201), bob (202, PCMA only) and carol (203),
    and a context where 201/202 dial them, _3XX is answered by the PBX for
    1 s and 500 raises; `extensions` adds Lua lines inside the context."""
    return _BASIC % {"rtp": net.pbx_rtp, "extensions": extensions}
