"""End-to-end test harness for lunapbx (Python 3 standard library only).

A test file (spec/e2e/NN_name.t) is an executable Python script that speaks
TAP and runs under `prove`:

    #!/usr/bin/env python3
    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    from harness import *

    net = Net(NN)                       # this file's addresses and ports
    with Tap(timeout=90) as t:          # hard time limit for the whole file
        t.require_pbx()                 # "1..0 # SKIP ..." when build/lunapbx is missing
        pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
        r = Sipp("options.xml", local="%s:5060" % net.ip(1), remote=pbx.sip).run()
        t.sipp_ok(r, "OPTIONS answered")
    # leaving the block: every process started is killed (by process group),
    # the temp dir is removed (kept with LUNAPBX_KEEP=1), "1..N" is printed and
    # the exit status is non-zero when an assertion failed.

The pieces live in lunatest/: proc (processes, temp dir, cleanup), tap,
net, pbx, sipmsg, sipp, phone (baresip over ctrl_tcp), audio, capture
(tshark on the loopback, RTP/RTCP counted per direction), console
(`lunapbx -r`: console_exec for -x, ConsoleTerm on a pseudo-terminal).
"""

from lunatest.capture import Capture, read_pcap, sdp_ports
from lunatest.console import ConsoleResult, ConsoleTerm, console_exec
from lunatest.audio import (dominant_tone, goertzel_power, heard, make_silence, make_tone,
                            read_wav, rms, tone_duration, tone_powers, tone_present)
from lunatest.calls import PhoneLab, demo_password
from lunatest.configs import basic_config
from lunatest.events import EventClient, http, http_json, parse_prometheus
from lunatest.linphone import Linphone
from lunatest.net import Net
from lunatest.pbx import Pbx, PbxError
from lunatest.phone import Phone, fresh_names
from lunatest.proc import (ROOT, SIPP_DIR, SUPPORT, HardTimeout, pbx_binary, read_text,
                           tail, wait_until, workdir)
from lunatest.sipmsg import SipMsg, parse_auth_header, parse_sipp_messages
from lunatest.sipp import SDP, Sipp, SippResult, render_template
from lunatest.tap import Tap

__all__ = [
    "ROOT", "SUPPORT", "SIPP_DIR", "Tap", "Pbx", "PbxError", "Sipp", "SippResult",
    "SipMsg", "parse_sipp_messages", "render_template", "Phone", "fresh_names", "Net",
    "make_tone", "make_silence", "read_wav", "goertzel_power", "tone_powers",
    "dominant_tone", "tone_present", "tone_duration", "heard", "pbx_binary", "workdir", "HardTimeout",
    "parse_auth_header", "wait_until", "tail", "SDP", "read_text", "basic_config",
    "Capture", "read_pcap", "sdp_ports",
    "ConsoleResult", "ConsoleTerm", "console_exec", "PhoneLab", "Linphone", "rms",
    "demo_password",
    "EventClient", "http", "http_json", "parse_prometheus",
]
