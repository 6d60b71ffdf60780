"""The table bench/run prints (Markdown, so it pastes into the README), and
the same results as JSON."""

TARGETS = {
    "answer": ("calls/s answered by the Lua dialplan", 0.6, ">= 0.6 x Kamailio"),
    "b2bua": ("calls/s through Lua call:dial (B2BUA)", 0.3, ">= 0.3 x Kamailio"),
}


def _rate_cell(fig):
    if not fig or "skipped" in fig:
        return "skipped" + (": " + fig["skipped"] if fig else "")
    b = fig.get("best")
    if not b:
        first = fig["steps"][0] if fig.get("steps") else None
        return "failed at the first step" + (" (%s)" % first.reason if first else "")
    return "**%d** (%.0f%% CPU, %.0f us/call)" % (b.rate, 100 * b.cpu, b.us_per_call)


def _rate(fig):
    return fig["best"].rate if fig and fig.get("best") else None


def _ratio_row(num, den, target, fmt="%.2f"):
    if num is None or not den:
        return "-", "?"
    r = num / den
    return fmt % r, "yes" if r >= target else "**no**"


def _media_rows(results):
    out = []
    relay = results.get("relay")
    ceiling = relay["per_core"] / 200.0 if relay and relay.get("per_core") else None
    ref = ("relay: %d packets/s per core / 200 = %d calls" % (relay["per_core"], ceiling)
           if ceiling else "-")
    if relay:
        out.append(("bare UDP relay, one core (the ceiling)", "-",
                     "**%d** packets/s per CPU second (%.0f%% of a core, %.1f per recvmmsg)"
                     % (relay["per_core"], 100 * relay["cpu_share"], relay["batch"]),
                     "-", "-", "-"))
    for key, name, target in (("bridged", "concurrent bridged G.711 calls, RTP both ways", 0.7),
                              ("moh", "concurrent calls hearing music on hold", None)):
        fig = results.get(key)
        if fig is None:
            continue
        if "skipped" in fig:
            out.append((name, "skipped: " + fig["skipped"], ref, "-", "-", "-"))
            continue
        b = fig.get("best")
        if not b:
            last = fig["steps"][-1] if fig.get("steps") else {}
            out.append((name, "failed at the first step (%s)" % last.get("reason", "?"),
                        ref, "-", "-", "**no**" if target else "-"))
            continue
        per_core = b["calls"] / b["pbx_cpu"] if b["pbx_cpu"] > 0 else 0
        cell = ("**%d** (PBX %.0f%% CPU, %.3f%% per call: %d per core)"
                % (b["calls"], 100 * b["pbx_cpu"], 100 * b["pbx_cpu"] / b["calls"], per_core))
        ratio, met = _ratio_row(per_core, ceiling, target or 0)
        out.append((name, cell, ref, ratio,
                    ">= 0.7 x relay / 200 (per core)" if target else "same criteria",
                    met if target else "-"))
    return out


def _parking_rows(results):
    """Parked calls against music on hold per core, the same run."""
    fig = results.get("parking") or {}
    name = "concurrent parked calls (each a call in the lot hearing music, its lamp set)"
    if "skipped" in fig:
        return [(name, "skipped: " + fig["skipped"], "-", "-", "-", "-")]
    moh = (results.get("moh") or {}).get("best")
    moh_core = moh["calls"] / moh["pbx_cpu"] if moh and moh.get("pbx_cpu") else None
    ref = ("music on hold, same run: **%d** (%d per core)" % (moh["calls"], moh_core)
           if moh_core else "-")
    b = fig.get("best")
    if not b or not b.get("pbx_cpu"):
        last = (fig.get("steps") or [{}])[-1]
        return [(name, "failed at the first step (%s)" % last.get("reason", "?"), ref, "-",
                 "-", "-")]
    per_core = b["calls"] / b["pbx_cpu"]
    ratio, met = _ratio_row(per_core, moh_core, 0.9)
    return [(name, "**%d** (PBX %.0f%% CPU, %.3f%% per call: %d per core)"
             % (b["calls"], 100 * b["pbx_cpu"], 100 * b["pbx_cpu"] / b["calls"], per_core),
             ref, ratio, ">= 0.9 x music on hold per core", met if moh_core else "-")]


def _voicemail_rows(results):
    fig = results.get("voicemail") or {}
    if "skipped" in fig:
        return [("voicemail", "skipped: " + fig["skipped"], "-", "-", "-", "-")]
    out = []
    moh = (results.get("moh") or {}).get("best")
    moh_core = moh["calls"] / moh["pbx_cpu"] if moh and moh.get("pbx_cpu") else None
    d = (fig.get("deposits") or {})
    b = d.get("best")
    if b and b.get("pbx_cpu"):
        per_core = b["calls"] / b["pbx_cpu"]
        out.append(("concurrent voicemail deposits (RTP recorded to WAV, no message lost)",
                    "**%d** (PBX %.0f%% CPU, %.3f%% per deposit: %d per core)"
                    % (b["calls"], 100 * b["pbx_cpu"], 100 * b["pbx_cpu"] / b["calls"], per_core),
                    "music on hold: %d per core" % moh_core if moh_core else "-",
                    "%.2f" % (per_core / moh_core) if moh_core else "-", "-", "-"))
    else:
        last = (d.get("steps") or [{}])[-1]
        out.append(("concurrent voicemail deposits", "failed at the first step (%s)"
                    % last.get("reason", "?"), "-", "-", "-", "-"))
    lg = (fig.get("logins") or {}).get("best")
    if lg:
        out.append(("VoiceMailMain logins/s (mailbox and PIN by SIP INFO, counts said)",
                    "**%d** (%d us of PBX CPU per session)" % (lg["rate"], lg["us_per_login"]),
                    "-", "-", "-", "-"))
    else:
        last = ((fig.get("logins") or {}).get("steps") or [{}])[-1]
        out.append(("VoiceMailMain logins/s", "failed at the first step (%s)"
                    % last.get("reason", "?"), "-", "-", "-", "-"))
    return out


def _memory_rows(fig):
    if "skipped" in fig:
        return [("memory per call", "skipped: " + fig["skipped"], "-", "-", "-", "-")]
    b, a = fig.get("bridged", {}), fig.get("answered", {})
    if "error" in b or "error" in a:
        return [("memory per call", "error: %s" % (b.get("error") or a.get("error")),
                 "-", "-", "-", "-")]

    def yes(ok):
        return "yes" if ok else "**no**"
    return [
        ("memory per bridged call (RSS)", "**%.1f KB**" % b["rss_kb"], "-", "-", "<= 32 KB",
         yes(b["rss_kb"] <= 32)),
        ("memory per call answered by the PBX (RSS)", "**%.1f KB**" % a["rss_kb"], "-", "-",
         "-", "-"),
        ("Lua memory per call", "**%d B** bridged, **%d B** answered"
         % (b["lua_bytes"], a["lua_bytes"]), "-", "-", "<= 2 KB",
         yes(max(b["lua_bytes"], a["lua_bytes"]) <= 2048)),
        ("file descriptors per call", "%.1f bridged, %.1f answered" % (b["fds"], a["fds"]),
         "-", "-", "few (20000 open files)", "-"),
    ]


def _reload_rows(fig):
    out = []
    for key, name, target in (("dialplan", "hot reload, a 1000-extension dialplan", True),
                              ("phones", "... and the 1000 phones as endpoints", False)):
        r = fig.get(key) or {}
        if "skipped" in fig or "error" in r or not r:
            out.append((name, fig.get("skipped") or r.get("error", "-"), "-", "-",
                        "<= 20 ms" if target else "-", "-"))
            continue
        out.append((name, "**%.1f ms** (max %.1f, %d runs, %d KB of Lua)"
                    % (r["median_ms"], r["max_ms"], r["runs"], r["config_kb"]), "-", "-",
                    "<= 20 ms" if target else "-",
                    ("yes" if r["median_ms"] <= 20 else "**no**") if target else "-"))
    return out


def _bridged_ref(results, label):
    """The bridged calls per core of the same run (None when it did not
    run) and the reference cell that says so."""
    br = (results.get("bridged") or {}).get("best")
    bridged = br["calls"] / br["pbx_cpu"] if br and br.get("pbx_cpu") else None
    return bridged, ("%s: %d per core" % (label, bridged) if bridged else "-")


def _room_rows(fig, names, results, label, mixer, noun):
    """The rows of a conference figure's two ramps (rooms of 10, one large
    room), named by names: the best step's members and the CPU of `mixer`
    per `noun`; the rooms' members per core against the bridged calls."""
    bridged, ref = _bridged_ref(results, label)
    out = []
    for key, name in zip(("rooms", "single"), names):
        f = fig.get(key) or {}
        b = f.get("best")
        if not b:
            last = (f.get("steps") or [{}])[-1]
            out.append((name, "failed at the first step (%s)" % last.get("reason", "?"),
                        ref if key == "rooms" else "-", "-", "-", "-"))
            continue
        per_core = b["members"] / b["cpu"] if b["cpu"] > 0 else 0
        cell = ("**%d** (%d room%s, %s %.0f%% CPU, %.4f%% per %s: %d per core;"
                " tick lag max %d ms)" % (b["members"], b["rooms"], "s" if b["rooms"] > 1 else "",
                                          mixer, 100 * b["cpu"], 100 * b["cpu"] / b["members"],
                                          noun, per_core, b["max_lag_ms"]))
        if key == "rooms":
            ratio, met = _ratio_row(per_core, bridged, 0.7)
            out.append((name, cell, ref, ratio, ">= 0.7 x bridged calls per core", met))
        else:
            out.append((name, cell, "-", "-", "-", "-"))
    return out


def _mixer_rows(results):
    """The conference mixer (no SIP), against the bridged call per core of
    the same run when it ran."""
    fig = results["mixer"]
    if "skipped" in fig:
        return [("conference mixer", "skipped: " + fig["skipped"], "-", "-", "-", "-")]
    out = []
    a = fig.get("alone") or {}
    if a:
        out.append(("conference mixer alone (no sockets): rooms of 10, 2 talkers",
                    "**%.3f us** per member per tick: %d members per core"
                    % (a["us_per_member_tick"], a["members_per_core"]), "-", "-", "-", "-"))
    return out + _room_rows(fig, ("conference members on RTP, rooms of 10 (2 talkers), no SIP",
                                  "largest single room on RTP (2 talkers), no SIP"),
                            results, "bridged calls", "mixbench", "member")


def _conference_rows(results):
    """Conference rooms with SIP calls through the PBX, against the bridged
    calls per core of the same run when it ran."""
    return _room_rows(results["conference"],
                      ("conference participants (SIP calls), rooms of 10, 2 talkers",
                       "largest single room (SIP calls), 2 talkers"),
                      results, "bridged calls, same run", "PBX", "participant")


def _events_rows(results):
    """B2BUA calls/s with 10 event clients against none, the same run."""
    fig = results["events"]
    if "skipped" in fig:
        return [("B2BUA calls/s, 10 event clients", "skipped: " + fig["skipped"], "-", "-",
                 "-", "-")]
    none, cl = fig.get("none") or {}, fig.get("clients") or {}
    lost = cl.get("gaps", 0) + (fig.get("paired") or {}).get("gaps", 0)
    cell = _rate_cell(cl) + ("; %d events received, %d lost" % (cl.get("messages", 0), lost))
    ratio, met = _ratio_row(_rate(cl), _rate(none), 0.9)
    out = [("B2BUA calls/s with 10 WebSocket clients following every event", cell,
            "no client, same run: " + _rate_cell(none), ratio, ">= 0.9 x no client",
            met if not lost else "**no** (events lost)")]
    p = fig.get("paired") or {}
    if p.get("ratio"):
        out.append(("... CPU per B2BUA call at %d calls/s, windows alternating" % p["rate"],
                    "**%.0f us** with 10 clients (%d windows)" % (p["us_clients"],
                                                                   len(p["clients"])),
                    "**%.0f us** without (%d windows)" % (p["us_none"], len(p["none"])),
                    "%.2f" % p["ratio"], ">= 0.9 (calls per CPU second)",
                    "yes" if p["ratio"] >= 0.9 else "**no**"))
    return out


def _queue_rows(results):
    """The call center against FreeSWITCH mod_callcenter's reported limits
    (about 20 calls/s and 200 concurrent calls): the target is 25 times."""
    out = []
    fig = results.get("queue")
    if fig is not None:
        name = ("calls/s through a queue (rrmemory, ringinuse=no) to %d agents, every call"
                " answered, no agent stuck" % fig.get("agents", 200))
        b = fig.get("best")
        ratio, met = _ratio_row(b.rate if b else None, 20, 25)
        out.append((name, _rate_cell(fig), "mod_callcenter: ~20 calls/s (users' reports)",
                    ratio if b else "-", ">= 25 x (500 calls/s)", met if b else "**no**"))
    fig = results.get("queued")
    if fig is not None:
        name = "callers waiting in a queue with music at once"
        b = fig.get("best")
        if not b or not b.get("pbx_cpu"):
            last = (fig.get("steps") or [{}])[-1]
            out.append((name, "failed at the first step (%s)" % last.get("reason", "?"),
                        "mod_callcenter: ~200 concurrent calls", "-", ">= 25 x (5000)", "**no**"))
        else:
            per_core = b["calls"] / b["pbx_cpu"]
            ratio, met = _ratio_row(per_core, 200, 25)
            moh = (results.get("moh") or {}).get("best")
            ref = "mod_callcenter: ~200 concurrent calls"
            if moh and moh.get("pbx_cpu"):
                ref += "; music on hold, same run: %d per core" % (moh["calls"] / moh["pbx_cpu"])
            out.append((name, "**%d** (PBX %.0f%% CPU: %d per core)"
                        % (b["calls"], 100 * b["pbx_cpu"], per_core), ref, ratio,
                        ">= 25 x per core (5000)", met))
    return out


def rows(results):
    out = []
    kam = results.get("kamailio")
    ref = _rate(kam)
    for key in ("answer", "b2bua"):
        if key not in results:
            continue
        name, target, tdesc = TARGETS[key]
        ratio, met = _ratio_row(_rate(results[key]), ref, target)
        out.append((name, _rate_cell(results[key]),
                    "Kamailio: " + _rate_cell(kam) if kam else "-", ratio, tdesc, met))
    if "kamailio" in results and not ("answer" in results or "b2bua" in results):
        out.append(("Kamailio calls/s", _rate_cell(kam), "-", "-", "-", "-"))
    if "events" in results:
        out.extend(_events_rows(results))
    out.extend(_media_rows(results))
    if "parking" in results:
        out.extend(_parking_rows(results))
    if "voicemail" in results:
        out.extend(_voicemail_rows(results))
    if "memory" in results:
        out.extend(_memory_rows(results["memory"]))
    if "reload" in results:
        out.extend(_reload_rows(results["reload"]))
    if "mixer" in results:
        out.extend(_mixer_rows(results))
    if "conference" in results:
        out.extend(_conference_rows(results))
    out.extend(_queue_rows(results))
    return out


def table(results):
    c = results["conditions"]
    lines = ["",
             "lunapbx benchmarks, mode %s, %s: %s CPUs (%s), kernel %s, load %.2f before,"
             " %.2f after, %.1f min" % (results["mode"], c["date"], c["cpus"], c["cpu"],
                                        c["kernel"], c["load_before"], c.get("load_after", 0),
                                        c.get("minutes", 0)),
             "",
             "| figure | lunapbx | reference | ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows(results):
        lines.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(lines) + "\n"


def _plain(x):
    if hasattr(x, "__dict__"):
        return {k: _plain(v) for k, v in vars(x).items()}
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def as_json(results):
    return _plain(results)
