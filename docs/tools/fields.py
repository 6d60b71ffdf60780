"""What each SIP header and SDP line means, for docs/sip-walkthrough.md: the
generator explains the real messages of the trace field by field with these
(English, then the French term of the lab).  A field missing here shows as
"(not explained here)": add it."""

HEADERS = {
    "via": ("The path the request took: one Via per hop, the answer goes back "
            "along them. `branch` names the transaction (RFC 3261 clients start it "
            "with the magic cookie `z9hG4bK`); `rport` asks for the answer to go "
            "back to the port the request really came from (NAT).",
            "en-tête de chemin, transaction"),
    "max-forwards": ("How many more servers may forward the request; each one takes "
                     "one off, and at 0 a server answers 483 Too Many Hops.",
                     "nombre maximal de sauts"),
    "to": ("The request's target (the number dialled, the account registered). "
           "The answering side adds a `tag`: From tag + To tag + Call-ID identify "
           "the dialog.", "destinataire"),
    "from": ("Who sends the request, with its `tag` (its half of the dialog's "
             "identity).", "émetteur / appelant"),
    "call-id": ("An identifier the caller makes up, the same in every message of "
                "the call (or of the registrations of one phone).",
                "identifiant d'appel"),
    "cseq": ("Sequence number and method: orders the requests of a dialog; an "
             "answer repeats the CSeq of its request, and an ACK or CANCEL the "
             "number of its INVITE.", "numéro de séquence"),
    "contact": ("Where the sender can be reached directly (its own address and "
                "port): the registrar stores it, and the later requests of a call "
                "(ACK, re-INVITE, BYE) go there.", "adresse de contact"),
    "expires": ("How long the registration should last, in seconds; the registrar "
                "may grant less (never less than its Min-Expires).",
                "durée de validité"),
    "user-agent": ("The software that sent the request.", "logiciel client"),
    "server": ("The software that answered.", "logiciel serveur"),
    "allow": ("The methods the sender accepts.", "méthodes acceptées"),
    "supported": ("SIP extensions the sender can use (option tags, e.g. `replaces` "
                  "for transfers, `100rel` for reliable provisional answers).",
                  "extensions prises en charge"),
    "require": ("Extensions the receiver must support, or refuse the request with "
                "420 Bad Extension.", "extensions exigées"),
    "unsupported": ("In a 420: the required extensions the server does not have.",
                    "extensions non prises en charge"),
    "content-type": ("The type of the body: `application/sdp`, a session "
                     "description.", "type du corps"),
    "content-length": ("The size of the body in bytes (0: no body).",
                       "taille du corps"),
    "accept": ("The body types the sender can read.", "types acceptés"),
    "www-authenticate": ("The registrar's challenge (401): `realm` (whose "
                         "passwords), `nonce` (a one-time value to hash with the "
                         "password), `qop=\"auth\"`, `algorithm=MD5`.",
                         "défi d'authentification"),
    "proxy-authenticate": ("The same challenge from a proxy (407): the PBX "
                           "challenges every INVITE this way.",
                           "défi d'authentification (mandataire)"),
    "authorization": ("The answer to a 401: `username`, `realm`, `nonce`, `uri`, "
                      "and `response` = MD5(MD5(user:realm:password):nonce:nc:cnonce:"
                      "qop:MD5(method:uri)). The password itself never travels.",
                      "réponse au défi"),
    "proxy-authorization": ("The answer to a 407, computed the same way as an "
                            "Authorization.", "réponse au défi (mandataire)"),
    "min-expires": ("In a 423: the shortest registration the registrar accepts.",
                    "durée minimale"),
    "date": ("The server's clock, so a phone can set its own.", "date"),
    "warning": ("Why a request failed, in words: code (305 incompatible media, "
                "399 miscellaneous), who says it, and the text.", "avertissement"),
    "record-route": ("A proxy that wants to stay in the path of later requests.",
                     "route enregistrée"),
    "route": ("The servers a request must go through.", "route"),
    "allow-events": ("Event packages the sender accepts (SUBSCRIBE/NOTIFY).",
                     "événements acceptés"),
    "subject": ("A subject for the call.", "sujet"),
    "retry-after": ("When to try again.", "réessayer après"),
}

SDP = {
    "v": ("Protocol version, always 0.", "version"),
    "o": ("Origin: user name, session id, session version (it grows each time this "
          "side changes its offer), network type IN (Internet), address type IP4, "
          "the originator's address.", "origine"),
    "s": ("Session name (`-`: none).", "nom de session"),
    "c": ("Connection: the address to send this side's media to (IN IP4 and the "
          "address). In amine's offer, amine's phone; in the PBX's own SDP, the "
          "PBX: lunapbx anchors the media, the phones never talk directly.",
          "adresse de connexion (où envoyer le média)"),
    "t": ("When the session is active: `0 0`, always.", "durée de la session"),
    "b": ("Bandwidth the media needs (AS: kbit/s for the application).",
          "bande passante"),
    "m": ("Media line: the kind (audio, video), the port this side receives RTP on "
          "(RTCP on the next one), the profile RTP/AVP (RTP audio/video profile, "
          "RFC 3551), then the payload types offered, preferred first (0-95 are "
          "fixed by RFC 3551, 96-127 are dynamic: an a=rtpmap says what they are).",
          "ligne de média, port RTP, types de charge utile"),
    "a=rtpmap": ("Payload type number -> codec/clock rate: 0 PCMU/8000 is G.711 "
                 "u-law, 8 PCMA/8000 G.711 A-law (Europe), 101 telephone-event the "
                 "DTMF keys sent as RTP events (RFC 4733).",
                 "correspondance type de charge utile / codec"),
    "a=fmtp": ("Format parameters of a payload type. For telephone-event, the events "
               "supported: 0-15 are the keys 0-9, *, #, A-D. For VP8, `max-fs` is the "
               "largest frame the receiver takes, in 16x16 macroblocks (3600: 1280x720), "
               "`max-fr` the highest frame rate.",
               "paramètres du format"),
    "a=rtcp-fb": ("RTCP feedback the receiver understands (RFC 4585): `nack` asks for a "
                  "lost packet again, `nack pli` (picture loss indication) for a new key "
                  "frame, `ccm fir` (full intra request) likewise; `*` for every payload "
                  "type.", "retour RTCP (demande de retransmission, d'image clé)"),
    "a=framerate": ("The frame rate the sender intends, frames a second.",
                    "images par seconde"),
    "a=content": ("What the video shows: `main` (the camera), `slides`...",
                  "contenu (caméra, présentation)"),
    "a=ptime": ("Milliseconds of audio per RTP packet: 20 ms is 160 samples at 8 kHz, "
                "50 packets a second.", "durée de paquet"),
    "a=maxptime": ("The longest packet this side accepts.", "durée de paquet maximale"),
    "a=minptime": ("The shortest packet this side sends.", "durée de paquet minimale"),
    "a=sendrecv": ("Media both ways. `sendonly`/`recvonly` (a call on hold) and "
                   "`inactive` stop one or both ways.", "sens du flux"),
    "a=sendonly": ("This side only sends (it put the call on hold).",
                   "sens du flux : émission seule"),
    "a=recvonly": ("This side only receives.", "sens du flux : réception seule"),
    "a=inactive": ("No media either way.", "flux inactif"),
    "a=rtcp": ("The RTCP port, when it is not the RTP port + 1.", "port RTCP"),
    "a=rtcp-mux": ("RTP and RTCP share one port.", "RTP et RTCP multiplexés"),
    "a=rtcp-rsize": ("Reduced-size RTCP is accepted (RFC 5506).", "RTCP réduit"),
    "a=ssrc": ("The synchronization source: the 32-bit id this side's RTP packets "
               "will carry, and its CNAME.", "source de synchronisation"),
    "a=label": ("A label for the media stream.", "étiquette"),
    "a=mid": ("Media id, to group streams.", "identifiant de média"),
    "a=tool": ("The software that made the SDP.", "outil"),
    "a=msid": ("Media stream id (WebRTC).", "identifiant de flux"),
}


CODECS = {
    "pcmu": "G.711 u-law, 64 kbit/s, the North American and Japanese telephone codec",
    "pcma": "G.711 A-law, 64 kbit/s, the European telephone codec",
    "telephone-event": "the keys (DTMF) sent as RTP events, RFC 4733, not as sound",
    "g722": "G.722, wideband (16 kHz audio, announced as 8000 for historical reasons)",
    "g729": "G.729, 8 kbit/s",
    "opus": "Opus, wideband, variable rate",
    "vp8": "VP8 video",
    "h264": "H.264 video",
    "cn": "comfort noise",
}

# canonical spellings of header names (the trace keeps the sender's)
CANON = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate",
         "min-expires": "Min-Expires", "user-agent": "User-Agent"}


def header_name(name):
    return CANON.get(name.lower(), "-".join(p.capitalize() for p in name.split("-")))


def header_meaning(name):
    e = HEADERS.get(name.lower())
    return e if e else ("(not explained here)", "")


def sdp_meaning(line):
    key, _, value = line.partition("=")
    if key == "a" and value.startswith("rtpmap:"):
        pt, _, codec = value[len("rtpmap:"):].partition(" ")
        name, _, rate = codec.partition("/")
        what = CODECS.get(name.lower(), "a codec lunapbx does not know")
        return ("Payload type %s is %s at %s Hz: %s." % (pt, name, rate.split("/")[0], what),
                "correspondance type de charge utile / codec")
    if key == "a":
        attr = value.split(":", 1)[0]
        e = SDP.get("a=" + attr)
    else:
        e = SDP.get(key)
    return e if e else ("(not explained here)", "")
