"""Calls between baresip phones through the PBX, as the transfer, hold and
bridge tests drive them: who calls whom, what each heard in which order, and
that nothing is left behind."""

import time

from .audio import heard
from .console import console_exec
from .phone import Phone
from .proc import wait_until


# dialplans/default.lua's demo endpoints: amine's password is "test", the
# others' "vitrygtr"
DEMO_PASSWORDS = {"amine": "test"}


def demo_password(who):
    """The password of a demo endpoint of dialplans/default.lua."""
    return DEMO_PASSWORDS.get(who, "vitrygtr")


class PhoneLab:
    """Phones registered on one PBX, each sending its own tone (hz[name])."""

    def __init__(self, t, pbx, phones, hz):
        self.t, self.pbx, self.phones, self.hz = t, pbx, phones, hz
        self.fds0 = self.held0 = None

    @classmethod
    def register(cls, t, pbx, net, hz, manual=(), limit=200, names=None, password=None,
                 users=None):
        """A baresip phone for each of names (all of hz by default), sending
        tone hz[name], registered; those in manual answer by hand.
        password(name) gives its password (name + "pw" by default); users
        maps a phone to the endpoint it registers as (two phones, one user)."""
        password = password or (lambda who: who + "pw")
        users = users or {}
        phones = {}
        for k, who in enumerate(names or hz):
            phones[who] = Phone(users.get(who, who), net.ip(1 + k), registrar=pbx.sip,
                                password=password(who), rtp_ports=net.phone_rtp(k),
                                tone_hz=hz[who], limit=limit, name=who,
                                answermode="manual" if who in manual else "auto")
        for who, ph in phones.items():
            t.ok(ph.registered(10), "%s (baresip) registers" % who, diag=ph.reginfo)
        return cls(t, pbx, phones, hz)

    def recorder(self):
        """rec(who): the decoded wav of phone who's next recording (its
        calls counted from now), None when it does not come in 8 s."""
        n = {who: len(ph.recordings()) for who, ph in self.phones.items()}

        def rec(who):
            n[who] += 1
            r = self.phones[who].wait_recording(n[who], timeout=8)
            return r and r["dec"]
        return rec

    def stop(self):
        for ph in self.phones.values():
            ph.stop()

    def call(self, a, exten, b):
        """Phone a dials exten; phone b answers: True when both are up."""
        a.dial("sip:%s@%s" % (exten, self.pbx.sip))
        ea = a.wait_event("CALL_ESTABLISHED", 10)
        eb = b.wait_event("CALL_ESTABLISHED", 10)
        return bool(ea and eb)

    def hang(self, who, *others):
        """who hangs up; the others' calls end too."""
        who.hangup()
        who.wait_event("CALL_CLOSED", 5)
        return all(o.wait_event("CALL_CLOSED", 5) for o in others)

    def settle_fds(self, a, exten, b):
        """A first call opens the PBX's media machinery for good (io_uring
        ring, raw socket, steering program): the descriptor count after it is
        what every scenario must come back to."""
        ok = self.call(a, exten, b)
        time.sleep(1)
        self.hang(a, b)
        self.empty(5)
        self.held0 = self.pbx.settled_fds()
        self.fds0 = len(self.held0 or ())
        a.wait_recording(len(a.recordings()) or 1)
        b.wait_recording(len(b.recordings()) or 1)
        self.fresh_names()
        return ok

    def empty(self, timeout=8):
        """No call, no leg, no bridge left."""
        return wait_until(lambda: console_exec(
            self.pbx, "return #calls() + #legs() + status().bridges").out.strip() == "0",
            timeout)

    def leftovers(self, what):
        t = self.t
        t.ok(self.empty(), "%s: nothing left (calls, legs, bridges)" % what,
             diag=lambda: console_exec(self.pbx, "calls() legs()").out)
        if self.fds0 is not None:
            ok = wait_until(lambda: self.pbx.fds() == self.fds0, 5)
            t.ok(ok, "%s: file descriptors back to %s (%s)"
                 % (what, self.fds0, self.pbx.fds()), diag=self.fds_diff)
        self.fresh_names()       # the next call's recordings get new names

    def fresh_names(self):
        """Until a call started now records under a new name on every
        phone (baresip names recordings by the second)."""
        for ph in self.phones.values():
            ph.fresh_name()

    def fds_diff(self):
        """The descriptors opened or closed since the first call."""
        now = self.pbx.fd_targets() or {}
        before = self.held0 or {}
        opened = {n: v for n, v in now.items() if before.get(n) != v}
        closed = {n: v for n, v in before.items() if now.get(n) != v}
        return "opened since %s, closed since %s" % (opened, closed)

    def heard(self, rec, who):
        return heard(rec, self.hz[who])

    def order(self, rec, first, then, what):
        """In rec, first's tone comes, then then's, and first's never again."""
        f = rec and self.heard(rec, first)
        s = rec and self.heard(rec, then)
        self.t.ok(f and s and f[1] <= s[0] + 0.3,
                  "%s: %s is heard, then %s, and %s not any more"
                  % (what, first, then, first),
                  diag=lambda: "%s %s, %s %s" % (first, f, then, s))

    def only(self, rec, who, never, what):
        """rec has who's tone and none of the never ones."""
        got = rec and self.heard(rec, who)
        bad = [n for n in never if rec and self.heard(rec, n)]
        self.t.ok(got and not bad, "%s: hears %s%s" % (
            what, who, ", never " + " or ".join(never) if never else ""),
            diag=lambda: "heard %s: %s; also %s" % (who, got, bad))

    def last(self, phone, n):
        """Phone's n-th recording (1 = its first), once written."""
        return phone.wait_recording(n)
