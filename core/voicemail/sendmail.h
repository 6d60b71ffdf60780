/**
 * @file sendmail.h  Hand an e-mail to the machine's sendmail-compatible
 * command, without blocking the event loop.
 *
 * The command runs under /bin/sh (it comes from the configuration, e.g.
 * "/usr/sbin/sendmail -t" or "msmtp -t -C /etc/msmtprc"); the message,
 * headers included, goes to its standard input through a non-blocking
 * pipe written as the loop allows, and its exit is seen through a pidfd.
 * The outcome goes to the log: the caller never waits for the mail.
 */

int  sendmail_send(const char *command, const char *msg, size_t len,
		   const char *what);
uint32_t sendmail_pending(void);
void sendmail_close(void);
