/**
 * @file sdnotify.c  sd_notify(3) by hand, and whether stderr is the
 * journal (sdnotify.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <re.h>
#include "sdnotify.h"


/**
 * Send @a state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...")
 * to the service manager.
 *
 * @return 0 (also when there is no manager to tell), or an errno
 */
int sdnotify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;
	int fd, err = 0;

	if (!path || !*path || !state)
		return 0;

	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path))
		return EINVAL;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = 0;   /* an abstract socket */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sun, len) < 0)
		err = errno;
	close(fd);

	return err;
}


/** stderr is systemd's journal stream ($JOURNAL_STREAM names its
 *  device and inode): lines may carry their priority as "<N>". */
bool sdnotify_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || 2 != sscanf(js, "%llu:%llu", &dev, &ino))
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;

	return (unsigned long long)st.st_dev == dev &&
		(unsigned long long)st.st_ino == ino;
}
