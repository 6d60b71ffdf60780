#!/usr/bin/env python3
# REGISTER (digest auth, expiry rules, no user enumeration) and OPTIONS.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(10)         # 127.S.10.10-19
CONFIG = basic_config(net)

with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started and printed `ready` (%s)" % pbx.sip)
    cli_ip = net.ip(1)
    cli = "%s:5060" % cli_ip

    def register(label, user, password, expires, code, direct=False):
        tmpl = {"expires": expires, "code": code,
                "direct": '<recv response="%d" optional="true" next="done"/>' % code if direct else ""}
        return Sipp("register.xml", template=tmpl, local=cli, remote=pbx.sip,
                    keys={"user": user}, auth=(user, password), timeout=10, name=label).run()

    # -- 401 challenge -------------------------------------------------------
    r = Sipp("register_challenge.xml", local=cli, remote=pbx.sip, keys={"user": "alice"},
             timeout=10, name="challenge").run()
    t.sipp_ok(r, "REGISTER without credentials -> 401")
    c401 = r.first(401)
    scheme, ch = parse_auth_header(c401.header("www-authenticate") if c401 else None)
    hdr = lambda: "WWW-Authenticate: %s" % (c401.header("www-authenticate") if c401 else None)
    t.is_(scheme, "Digest", "401 carries a WWW-Authenticate: Digest challenge", diag=hdr)
    t.is_(ch.get("realm"), "lunapbx", '... realm="lunapbx"', diag=hdr)
    t.ok(ch.get("nonce"), "... with a nonce", diag=hdr)
    t.is_(ch.get("qop"), "auth", '... qop="auth"', diag=hdr)
    t.is_((ch.get("algorithm") or "").upper(), "MD5", "... algorithm=MD5", diag=hdr)

    # -- right password -> 200 with the binding's expires -------------------
    r = register("alice-ok", "alice", "alicepw", 3600, 200)
    t.sipp_ok(r, "REGISTER alice with the right password -> 200")
    ok200 = r.first(200)
    contacts = ", ".join(ok200.headers_all("contact")) if ok200 else ""
    t.like(contacts, r"(?i)<sip:alice@%s:5060[^>]*>[^,]*;\s*expires=\d+" % re.escape(cli_ip),
           "200 OK lists our Contact with expires=")
    m = re.search(r"(?i)expires=(\d+)", contacts)
    t.ok(m and 60 <= int(m.group(1)) <= 3600, "... expires within [60, 3600] (%s)" % (m and m.group(1)))

    # -- wrong password / unknown user: same 403 ----------------------------
    wrong = register("alice-wrongpw", "alice", "not-the-password", 3600, 403)
    t.sipp_ok(wrong, "REGISTER alice with a wrong password -> 401 then 403")
    unknown = register("mallory", "mallory", "whatever", 3600, 403)
    t.sipp_ok(unknown, "REGISTER an unknown user -> 401 then 403 (challenged like a known one)")
    w403, u403 = wrong.first(403), unknown.first(403)
    t.is_(u403 and u403.start, w403 and w403.start,
          "unknown user and wrong password get the same 403 status line")
    w401, u401 = wrong.first(401), unknown.first(401)
    norm = lambda m: m and sorted(set(n for n in m.header_names()
                                      if n not in ("content-length",)))
    t.is_(norm(u401), norm(w401), "... and challenges with the same header set (no user enumeration)")
    su, cu = parse_auth_header(u401.header("www-authenticate") if u401 else None)
    t.is_((su, cu.get("realm"), cu.get("qop"), cu.get("algorithm")),
          (scheme, ch.get("realm"), ch.get("qop"), ch.get("algorithm")),
          "... and the same kind of challenge")

    # -- unregister ----------------------------------------------------------
    r = register("alice-unreg", "alice", "alicepw", 0, 200)
    t.sipp_ok(r, "REGISTER with Expires: 0 (unregister) -> 200")
    ok200 = r.first(200)
    left = [c for c in (ok200.headers_all("contact") if ok200 else [])
            if cli_ip in c and not re.search(r"(?i)expires=0\b", c)]
    t.is_(left, [], "... and the 200 no longer lists our binding")

    # -- interval too brief ---------------------------------------------------
    r = register("alice-brief", "alice", "alicepw", 10, 423, direct=True)
    t.sipp_ok(r, "REGISTER with Expires: 10 -> 423 Interval Too Brief")
    r423 = r.first(423)
    t.is_(r423 and r423.header("min-expires"), "60", "... with Min-Expires: 60",
          diag=lambda: r423 and r423.text)

    # -- rport (RFC 3581): the Via names a port nobody listens on ------------
    with open(os.path.join(SIPP_DIR, "register.xml")) as f:
        text = f.read().replace("[local_ip]:[local_port];branch=[branch]",
                                "[local_ip]:5999;rport;branch=[branch]")
    path = os.path.join(workdir("scenarios-10"), "register_rport.xml")
    with open(path, "w") as f:
        f.write(text)
    r = Sipp(path, template={"expires": 3600, "code": 200, "direct": ""}, local=cli,
             remote=pbx.sip, keys={"user": "alice"}, auth=("alice", "alicepw"), timeout=10,
             name="alice-rport").run()
    t.sipp_ok(r, "REGISTER whose Via says port 5999;rport: the answers come back to the"
              " real source port")
    via = r.first(200).header("via") if r.first(200) else ""
    t.like(via, r"rport=5060\b", "... the 200's Via carries rport=5060 (the source port)")
    t.like(via, r"received=%s\b" % re.escape(cli_ip), "... and received=%s" % cli_ip)

    # -- OPTIONS over UDP and TCP ---------------------------------------------
    r = Sipp("options.xml", local=cli, remote=pbx.sip, timeout=10, name="options-udp").run()
    t.sipp_ok(r, "OPTIONS over UDP -> 200")
    r = Sipp("options.xml", local="%s:5062" % cli_ip, remote=pbx.sip, transport="t1",
             timeout=10, name="options-tcp").run()
    t.sipp_ok(r, "OPTIONS over TCP -> 200 (the PBX listens on TCP too)")

    pbx.finish(t)
