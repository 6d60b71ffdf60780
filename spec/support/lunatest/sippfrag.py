"""sipp scenario fragments: XML that tests splice into a scenario's
{ack}, {after} or {reoffer} placeholders (uac_hdrs.xml, uac_refer.xml,
video_add_uac.xml), so that each message is written once.

The From tag is sipp's own ([pid]SIPpTag00[call_number]): the fragments
belong to the dialog the scenario's INVITE opened.  A BYE we send needs the
PBX's side of that dialog in [$pbx_to] (see answer_invite's action)."""


def _ack(uri, via):
    """An ACK of our INVITE (CSeq 2: the first INVITE was challenged)."""
    return """  <send>
    <![CDATA[
      ACK %s SIP/2.0
      %s
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>""" % (uri, via)


# the ACK of a 2xx: a new transaction to the Contact the 200 gave ([next_url])
ACK_2XX = _ack("[next_url]", "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]"
                             "\n      [routes]")

# the ACK of a final answer that is no 2xx: part of the INVITE's transaction
# (its Via, its Request-URI)
ACK_ERR = _ack("sip:[service]@[remote_ip]:[remote_port]", "[last_Via:]")

# the start of our 200 to the PBX's request: its Via, From, To, Call-ID, CSeq
_OK = """  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]"""

# the action that keeps the PBX's side of the dialog (the From of its
# request) for a BYE we send later
KEEP_PBX_TO = """
    <action>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" assign_to="pbx_to"/>
    </action>
  """


def reply(method, timeout_ms=None):
    """Receive a request of `method` from the PBX and answer it 200 OK, no
    body (a NOTIFY, the PBX's BYE).  timeout_ms: how long to wait for it."""
    wait = ' timeout="%d"' % timeout_ms if timeout_ms else ""
    return """  <recv request="%s"%s/>
%s
      Content-Length: 0
    ]]>
  </send>""" % (method, wait, _OK)


def bye(cseq, pause_ms=0):
    """Our BYE (CSeq `cseq`, after `pause_ms`), expecting its 200; the
    PBX's tag from [$pbx_to]."""
    pause = '  <pause milliseconds="%d"/>\n' % pause_ms if pause_ms else ""
    return pause + """  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: [$pbx_to]
      Call-ID: [call_id]
      CSeq: %d BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>""" % cseq


def answer_invite(media, action="", headers="", version=2):
    """Receive the PBX's (re-)INVITE, answer it 200 with an SDP of our
    `media` lines (newline-separated, sipp keywords allowed; o= version
    `version`), then take its ACK.  action: XML inside <recv> (e.g.
    KEEP_PBX_TO, or an ereg checking the offer); headers: extra lines."""
    pad = "\n      "
    hdrs = "".join(h + pad for h in headers.splitlines())
    return """  <recv request="INVITE">%s</recv>
%s
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
      %sContent-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 %d IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      %s
    ]]>
  </send>
  <recv request="ACK"/>""" % (action, _OK, hdrs, version, media.replace("\n", pad))
