/**
 * @file sendmail.c  A child process per e-mail, fed and reaped by the
 * event loop.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "voicemail/sendmail.h"

extern char **environ;

enum { POLL_MS = 100 };

struct job {
	struct le le;
	pid_t pid;
	int in;                 /* the pipe to its stdin, -1 when closed */
	int pidfd;              /* readable when it exits (-1: polled)  */
	struct tmr tmr;
	char *buf;
	size_t len, off;
	char *what;
};

static struct list jobs;


static void close_in(struct job *j)
{
	if (j->in < 0)
		return;
	fd_close(j->in);
	close(j->in);
	j->in = -1;
}


static void destructor(void *arg)
{
	struct job *j = arg;

	list_unlink(&j->le);
	tmr_cancel(&j->tmr);
	close_in(j);
	if (j->pidfd >= 0) {
		fd_close(j->pidfd);
		close(j->pidfd);
	}
	mem_deref(j->buf);
	mem_deref(j->what);
}


static bool reap(struct job *j)
{
	int status;
	pid_t r = waitpid(j->pid, &status, WNOHANG);

	if (r == 0)
		return false;

	if (r < 0)
		log_warn("sendmail: %s: %m", j->what, errno);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("sendmail: %s: handed over (exit 0)", j->what);
	else if (WIFEXITED(status))
		log_warn("sendmail: %s: the command exited %d, the mail is"
			 " not sent", j->what, WEXITSTATUS(status));
	else
		log_warn("sendmail: %s: the command died (signal %d)",
			 j->what, WTERMSIG(status));
	mem_deref(j);

	return true;
}


static void exit_handler(int flags, void *arg)
{
	(void)flags;
	(void)reap(arg);
}


static void poll_handler(void *arg)
{
	struct job *j = arg;

	if (!reap(j))
		tmr_start(&j->tmr, POLL_MS, poll_handler, j);
}


static void write_handler(int flags, void *arg)
{
	struct job *j = arg;
	ssize_t n;
	(void)flags;

	while (j->off < j->len) {
		n = write(j->in, j->buf + j->off, j->len - j->off);
		if (n < 0 && errno == EAGAIN)
			return;               /* the loop calls again */
		if (n < 0) {
			log_warn("sendmail: %s: writing to the command: %m",
				 j->what, errno);
			break;
		}
		j->off += (size_t)n;
	}
	close_in(j);                          /* EOF: the message ends */
}


static int spawn(struct job *j, const char *command, int *in)
{
	char *argv[] = { "/bin/sh", "-c", (char *)command, NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], err;

	if (pipe2(fds, O_CLOEXEC))
		return errno;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	err = posix_spawn(&j->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (err) {
		close(fds[1]);
		return err;
	}

	*in = fds[1];

	return 0;
}


/**
 * Run @a command with @a msg on its standard input; returns at once.
 * @param what for the log, e.g. "voicemail 6001 to root@localhost"
 */
int sendmail_send(const char *command, const char *msg, size_t len,
		  const char *what)
{
	struct job *j;
	int err;

	if (!str_isset(command) || !msg)
		return EINVAL;

	j = mem_zalloc(sizeof(*j), destructor);
	if (!j)
		return ENOMEM;
	j->in = j->pidfd = -1;
	tmr_init(&j->tmr);

	j->buf = mem_alloc(len ? len : 1, NULL);
	err = j->buf ? 0 : ENOMEM;
	err = err ? err : str_dup(&j->what, what ? what : "mail");
	err = err ? err : spawn(j, command, &j->in);
	if (err)
		goto out;
	memcpy(j->buf, msg, len);
	j->len = len;
	list_append(&jobs, &j->le, j);

	(void)fcntl(j->in, F_SETFL, fcntl(j->in, F_GETFL) | O_NONBLOCK);
	err = fd_listen(j->in, FD_WRITE, write_handler, j);
	if (err)
		close_in(j);

	j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
	if (j->pidfd < 0 || fd_listen(j->pidfd, FD_READ, exit_handler, j))
		tmr_start(&j->tmr, POLL_MS, poll_handler, j);

	return 0;

 out:
	mem_deref(j);
	return err;
}


uint32_t sendmail_pending(void)
{
	return list_count(&jobs);
}


/** At shutdown: the commands go on alone; their pipes close. */
void sendmail_close(void)
{
	list_flush(&jobs);
}
