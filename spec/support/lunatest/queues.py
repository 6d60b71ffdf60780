"""Queues seen from the console: live statistics, member states and the
queue log of a running PBX (lunapbx.queue), as plain Python values."""

from .console import console_exec
from .proc import wait_until


def _lua_list(expr):
    # one "k=v;k=v" line per item, so that Python reads it without a parser
    return ("local out = {} for _, x in ipairs(%s) do local f = {} "
            "for k, v in pairs(x) do if type(v) ~= 'table' then f[#f + 1] = k .. '=' .. tostring(v) end end "
            "table.sort(f) out[#out + 1] = table.concat(f, ';') end "
            "return table.concat(out, '\\n')" % expr)


def _rows(text):
    rows = []
    for line in text.strip().splitlines():
        row = {}
        for kv in line.split(";"):
            if "=" in kv:
                k, v = kv.split("=", 1)
                row[k] = v
        if row:
            rows.append(row)
    return rows


def stat(pbx, queue, field):
    """One figure of queue.stats(queue), as a string ('' on error)."""
    r = console_exec(pbx, "return tostring(require('lunapbx.queue').stats(%r).%s)"
                     % (queue, field))
    return r.out.strip()


def members(pbx, queue):
    """{member: state} of queue.stats(queue).members."""
    r = console_exec(pbx, _lua_list("require('lunapbx.queue').stats(%r).members" % queue))
    return {row["name"]: row.get("state") for row in _rows(r.out)}


def log_rows(pbx, queue=None, event=None):
    """The queue log's rows (dicts of strings), oldest first."""
    args = []
    if queue:
        args.append("queue = %r" % queue)
    if event:
        args.append("event = %r" % event)
    r = console_exec(pbx, _lua_list("require('lunapbx.queue').log_rows{ %s, limit = 5000 }"
                                    % ", ".join(args)))
    return _rows(r.out)


def all_free(pbx, queue, free=("idle", "wrapup", "paused"), timeout=8):
    """Every member of queue is back to one of `free` (not stuck ringing or
    talking); returns the states seen last."""
    seen = {}

    def check():
        seen.clear()
        seen.update(members(pbx, queue))
        return bool(seen) and all(s in free for s in seen.values())
    ok = wait_until(check, timeout, interval=0.3)
    return ok, dict(seen)
