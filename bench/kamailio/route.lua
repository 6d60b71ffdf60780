-- Kamailio routing for the benchmark (KEMI, app_lua): a stateful proxy.
-- Initial INVITEs to an extension go to the callee named in ROUTES; the
-- dialog is record-routed so the BYE comes back through us, as it comes
-- back through the PBX.  bench/run fills {uas}.
local ROUTES = {
  ["200"] = "sip:uas@{uas}",
}

function ksr_request_route()
  if KSR.maxfwd.process_maxfwd(10) < 0 then
    KSR.sl.sl_send_reply(483, "Too Many Hops")
    return 1
  end

  if KSR.is_CANCEL() then
    if KSR.tm.t_check_trans() > 0 then KSR.tm.t_relay() end
    return 1
  end

  -- retransmissions are absorbed by the transaction layer
  if not KSR.is_ACK() then
    if KSR.tmx.t_precheck_trans() > 0 then
      KSR.tm.t_check_trans()
      return 1
    end
    if KSR.tm.t_check_trans() == 0 then return 1 end
  end

  -- within a dialog: follow the Route set
  if KSR.siputils.has_totag() > 0 then
    if KSR.rr.loose_route() > 0 then
      KSR.tm.t_relay()
    elseif KSR.is_ACK() then
      if KSR.tm.t_check_trans() > 0 then KSR.tm.t_relay() end
    else
      KSR.sl.sl_send_reply(404, "Not here")
    end
    return 1
  end

  local dst = ROUTES[KSR.pv.get("$rU")]
  if not dst then
    KSR.sl.sl_send_reply(404, "Not Found")
    return 1
  end
  if KSR.is_INVITE() then KSR.rr.record_route() end
  KSR.setdsturi(dst)
  if KSR.tm.t_relay() < 0 then KSR.sl.sl_reply_error() end
  return 1
end
