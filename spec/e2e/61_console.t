#!/usr/bin/env python3
# The console (lunapbx -r): -x for scripts, a pseudo-terminal for people
# (multi-line input, completion, history, the log as it comes), several
# consoles at once, errors and endless loops that stay in the console, a
# socket only the PBX's user can use.
import os
import re
import signal
import stat
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(61)         # 127.S.61.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
greeting = "hello from the configuration"
pbx.context "internal" {
  ["301"] = function(call) call:answer() pbx.sleep(0.3) call:hangup() end,
}
""" % net.pbx_rtp

PROMPT = r"lunapbx> $"

with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    sock = os.path.join(pbx.state_dir, "console.sock")

    def x(code, **kw):
        return console_exec(pbx, code, **kw)

    def fails(code, regex, name):
        """-x CODE exits 1 and its stderr matches regex."""
        r = x(code)
        return t.ok(r.rc == 1 and re.search(regex, r.err), name, diag=r.diag)

    def options_ok(label):
        r = Sipp("options.xml", local="%s:5060" % net.ip(1), remote=pbx.sip,
                 timeout=5, name=label).run()
        return t.sipp_ok(r, "... and the PBX still answers SIP (OPTIONS -> 200)")

    # -- the socket --------------------------------------------------------------
    st = os.stat(sock)
    t.ok(stat.S_ISSOCK(st.st_mode), "the console socket is in the state folder (%s)" % sock)
    t.is_(stat.S_IMODE(st.st_mode), 0o600, "... readable and writable by the owner only")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        pbx_binary(), "-r", "--state", pbx.state_dir, "-x", "1"],
                       capture_output=True, timeout=10)
    t.ok(r.returncode != 0 and b"no PBX console" in r.stderr,
         "another user (nobody) cannot use it (rc %d)" % r.returncode,
         diag=lambda: r.stderr.decode())

    # -- -x: one chunk ---------------------------------------------------------
    r = x("1 + 1")
    t.ok(r.ok and r.out == "2\n", "-x '1 + 1' prints 2 and exits 0", diag=r.diag)
    r = x('{ 10, 20, name = "x", nested = { deep = true } }')
    t.is_(r.out.strip(), '{ 10, 20, name = "x", nested = { deep = true } }',
          "a table prints as Lua", diag=r.diag)
    r = x("local t = {} for i = 1, 30 do t['key' .. i] = i * 1000 end return t")
    t.ok(r.ok and r.out.startswith("{\n  key1 = 1000,\n") and r.out.count("\n") == 32,
         "a long table: one field a line, keys sorted", diag=r.diag)
    r = x('greeting')
    t.is_(r.out.strip(), "hello from the configuration",
          "the configuration's globals are visible (strings print bare)", diag=r.diag)
    r = x('pbx.match("internal", "301")')
    t.like(r.out, r"^function <.*pbx\.lua:%d>\t\{ context = \"internal\", pattern = \"301\" \}"
           % pbx.line_of('["301"]'), "pbx is the configuration's module: pbx.match() finds"
           " 301 and the function prints with its file:line", diag=r.diag)
    r = x('print("one", 2, nil) return 3, "four"')
    t.is_(r.out, "one\t2\tnil\n3\tfour\n", "print() writes to the console; several"
          " results print separated by tabs", diag=r.diag)
    t.unlike(pbx.log_text(), r"lua: one", "... and print() from the console is not in the log")

    r = x('error("boom")')
    t.ok(r.rc == 1 and r.err.strip() == "console:1: boom" and not r.out,
         "an error: rc 1, the message on stderr", diag=r.diag)
    r = x("local function f() local t = nil; return t.x end\nlocal v = f() return v")
    t.like(r.err, r"console:1: attempt to index a nil value \(local 't'\)\nstack traceback:\n"
           r"\s+console:1: in (local 'f'|function <console:1>)\n\s+console:2: in main chunk$",
           "... with a traceback (of the chunk's own frames) when the error is deeper"
           " than the chunk", diag=r.diag)
    fails("if x then", r"incomplete", "an unfinished chunk: rc 1, says incomplete")
    fails("1 +* 2", r"console:1: unexpected symbol near '\*'",
          "a syntax error: rc 1, console:1: and the reason")

    # -- errors and loops stay in the console ---------------------------------
    for code, regex, name in [
            ("os.exit(1)", r"field 'exit'",
             "os.exit(1) in the console: no such function (the sandbox has no os.exit)"),
            ('io.open("/tmp/lunapbx-console-test", "w")', r"global 'io'",
             "io is not there either"),
            ('require "os"', r"module 'os' not found", "require cannot bring os back"),
            ("coroutine.yield()", r"cannot wait here \(it yielded\)",
             "coroutine.yield() at the top of a chunk: an error, not a hung console"),
            ("pbx.sleep(0.01)", r"there is no call here", "pbx.sleep() is for calls"),
            ("while true do end", r"^console:1: script stopped: ran 50000000 instructions",
             "while true do end in the console is stopped by the instruction limit, at"
             " console:1"),
            ("while true do pcall(function() while true do end end) end", r"script stopped",
             "... also when a pcall inside the loop catches the first stop"),
            ("local co = coroutine.wrap(function() while true do end end) co()",
             r"script stopped", "... and when it loops in a coroutine")]:
        fails(code, regex, name)
    t.ok(pbx.alive(), "the PBX is still running")
    r = x("2 * 21")
    t.ok(r.ok and r.out == "42\n", "the next chunk runs normally", diag=r.diag)
    options_ok("options-after-loops")

    # -- the console sees the log lines of its own commands -------------------
    r = x('log.info("note from %s", "the console") return 7')
    t.ok(r.ok and r.out == "7\n" and re.search(r"info  console:1: note from the console", r.err),
         "log.info() from the console: the line is in the console (stderr with -x)...",
         diag=r.diag)
    t.ok(pbx.wait_log(r"note from the console", 2), "... and in the PBX's log")
    r = x('log.level()')
    t.is_(r.out.strip(), "debug", "log.level() says the level (debug: the PBX runs with -v)")
    r = x('log.level("info") return log.level()')
    t.is_(r.out.strip(), "info", "log.level(\"info\") sets it")
    mark = pbx.log_mark()
    options_ok("options-info")
    t.unlike(pbx.log_since(mark), r" debug ", "... no debug lines in the log from then on")
    x('log.level("debug")')
    r = x('sip.trace(true)')
    t.is_(r.out.strip(), "true", "sip.trace(true)")
    mark = pbx.log_mark()
    options_ok("options-traced")
    t.like(pbx.log_since(mark), r"(?i)sip (send|recv) .*udp .*\n(.*\n)*CSeq: 1 OPTIONS",
           "... the SIP messages go to the log")
    x('sip.trace(false)')

    # -- a pipe: chunks line by line -----------------------------------------------
    p = subprocess.run([pbx_binary(), "-r", "--state", pbx.state_dir],
                       input=b"x = 6\nfunction f(n)\n  return n * x\nend\nf(7)\n",
                       capture_output=True, timeout=10)
    t.ok(p.returncode == 0 and p.stdout == b"42\n", "lines on stdin (a pipe): a function"
         " over three lines, then f(7) prints 42", diag=lambda: repr(p.stdout + p.stderr))

    # -- -f: the log as it comes -------------------------------------------------
    flog = os.path.join(pbx.dir, "follow.log")
    from lunatest.proc import spawn
    fproc = spawn([pbx_binary(), "-r", "--state", pbx.state_dir, "-f"], flog)
    t.ok(wait_until(lambda: "following the log" in read_text(flog), 5),
         "lunapbx -r -f says it follows the log (on stderr)", diag=lambda: read_text(flog))
    x('log.warn("for the follower")')
    t.ok(wait_until(lambda: "for the follower" in read_text(flog), 3),
         "lunapbx -r -f prints the log as it comes (a line logged from another console)",
         diag=lambda: read_text(flog))
    os.kill(fproc.pid, signal.SIGTERM)
    fproc.wait(timeout=5)

    # -- on a terminal ------------------------------------------------------------
    a = ConsoleTerm(pbx, name="a")
    t.ok(a.expect(r"lunapbx console: generation 1, 0 calls, 1 endpoint", 5),
         "on a terminal: a banner (generation, calls, endpoints)...", diag=lambda: a.text)
    t.ok(a.expect(PROMPT, 5), "... and the prompt")

    m = a.mark()
    a.send("function double(n)\r")
    t.ok(a.expect(r"^>> $", 5, m), "an unfinished statement: the continuation prompt >>")
    a.send("  return n * 2\r")
    a.expect(r">> $", 3, m + 20)
    a.send("end\r")
    t.ok(a.expect(PROMPT, 5, m), "... until the chunk is complete")
    m = a.mark()
    a.send("double(21)\r")
    t.ok(a.expect(r"^42\r?$", 5, m), "the function defined over three lines works: 42")

    m = a.mark()
    a.send("\x1b[A")   # up: the last chunk again
    t.ok(a.expect(r"double\(21\)$", 5, m), "history: up recalls double(21)",
         diag=lambda: repr(a.since(m)))
    a.send("\r")
    t.ok(a.expect(r"^42\r?$", 5, m), "... which runs again")

    def completes(typed, added, rest, result, name):
        """Type, TAB: libedit draws only what changes, so the completion
        shows as the text it adds; then the rest of the line runs."""
        m = a.mark()
        a.send(typed + "\t")
        t.ok(a.expect(re.escape(added) + "$", 5, m), name, diag=lambda: repr(a.since(m)))
        a.send(rest + "\r")
        t.ok(a.expect(result, 5, m), "... and the completed line runs")

    completes("pbx.no", "w(", ")", r"^[\d.]+\r?$",
              "TAB completes pbx.no -> pbx.now( (names from the PBX)")

    m = a.mark()
    a.send("pbx.\t")
    t.ok(a.expect(r"(?s)pbx\.context\s.*pbx\.endpoint\s.*pbx\.log\s.*pbx\.match", 5, m),
         "pbx.<TAB> lists pbx's fields", diag=lambda: repr(a.since(m)))
    a.send("\x15")   # ^U: the line is empty again
    completes("cal", "ls(", ")", r"no calls", "cal<TAB> -> calls( (the console's own views)")
    completes("dou", "ble(", "4)", r"^8\r?$", "... a function of this console completes too")

    # -- a second console, at the same time -------------------------------------
    b = ConsoleTerm(pbx, name="b")
    b.expect(PROMPT, 5)
    m = b.mark()
    b.send("double\r")
    t.ok(b.expect(r"^nil\r?$", 5, m), "a second console at the same time has globals of its"
         " own (double is nil there)")
    b.send("double = 'b'\r")
    m = a.mark()
    a.send("double(5)\r")
    t.ok(a.expect(r"^10\r?$", 5, m), "... and the first one's stay its own")
    r = x("3 * 3")
    t.ok(r.ok and r.out == "9\n", "a third console (-x) works while both are open")

    # -- the log as it comes, while the user types ------------------------------
    m = a.mark()
    a.send("log.follow()\r")
    t.ok(a.expect(r"following the log", 5, m), "log.follow() in the first console")
    a.expect(PROMPT, 3, m)
    a.send("1 + ")   # the user is typing...
    m = a.mark()
    os.kill(pbx.proc.pid, signal.SIGHUP)
    t.ok(a.expect(r"reload: generation 2 in force", 5, m),
         "a reload by SIGHUP shows in the console as it happens", diag=lambda: repr(a.since(m)))
    t.ok(a.expect(r"lunapbx> 1 \+ $", 5, m), "... and the line being typed is drawn again")
    a.send("1\r")
    t.ok(a.expect(r"^2\r?$", 5, m), "... and finishes normally: 1 + 1 = 2")
    m = b.mark()
    b.send("1\r")
    b.expect(PROMPT, 3, m)
    t.unlike(b.since(0), r"reload: generation 2", "the second console does not follow the log")

    m = a.mark()
    a.send("os.exit(0)\r")
    t.ok(a.expect(r"attempt to call a nil value \(field 'exit'\)", 5, m),
         "os.exit(0) on the terminal: an error in the console")
    t.ok(a.alive() and pbx.alive(), "... the console and the PBX go on")
    t.is_(a.close(), 0, "Ctrl-D leaves the console (rc 0)", diag=lambda: repr(a.text[-700:]))
    b.send("while true do end\r\x04")   # ^D typed ahead, while the loop runs
    t.ok(wait_until(lambda: not b.alive(), 10), "a ^D typed while a chunk still runs"
         " leaves the second console once the chunk is done", diag=lambda: repr(b.text[-300:]))
    t.is_(b.close(), 0, "... rc 0")
    hist = read_text(os.path.join(pbx.dir, "a.history"))
    t.ok("double(21)" in hist, "the history is saved for next time")
    options_ok("options-end")

    pbx.finish(t)
