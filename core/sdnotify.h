/**
 * @file sdnotify.h  Telling systemd how the service is (sd_notify(3)),
 * without libsystemd: one datagram to $NOTIFY_SOCKET.  Outside systemd
 * (no NOTIFY_SOCKET) it does nothing.
 */

int  sdnotify(const char *state);
bool sdnotify_journal(void);
