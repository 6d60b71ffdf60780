/**
 * @file reload.c  Reload the configuration (see reload.h), and watch its
 * folder with inotify when the configuration asks for it.
 */
#include <string.h>
#include <sys/inotify.h>
#include <sys/time.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "reload.h"
#include "lua/runtime.h"
#include "http/httpd.h"
#include "sip/endpoint.h"

/* An editor saves in several steps: reload once they are done. */
enum { SETTLE_MS = 300 };

static struct {
	int fd;
	struct tmr settle;
	struct pbx *pbx;
} watch = { .fd = -1 };


static uint64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);

	return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}


/**
 * Compile and switch to the configuration file again.  The log says how
 * it went; @a errbuf says file:line on failure, @a usec how long it took.
 */
int reload_now(struct pbx *pbx, char *errbuf, size_t errsz, uint32_t *usec)
{
	uint64_t t0 = now_us();
	uint32_t took;

	if (luart_load(pbx->lua, pbx->config_path, errbuf, errsz)) {
		log_error("reload failed, the running configuration stays:"
			  " %s", errbuf);
		return EINVAL;
	}

	took = (uint32_t)(now_us() - t0);
	if (usec)
		*usec = took;
	log_info("reload: generation %u in force (%u endpoints), %u.%01u ms",
		 luart_generation(pbx->lua),
		 endpoint_table_count(pbx->endpoints), took / 1000,
		 took % 1000 / 100);
	reload_watch_update(pbx);
	httpd_update(pbx);

	return 0;
}


static void settled(void *arg)
{
	char err[1024];

	log_info("reload: the configuration's folder changed");
	(void)reload_now(arg, err, sizeof(err), NULL);
}


static void inotify_handler(int flags, void *arg)
{
	char buf[4096] __attribute__((aligned(8)));
	bool lua = false;
	ssize_t n;
	(void)flags; (void)arg;

	while ((n = read(watch.fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n; ) {
			const struct inotify_event *ev = (void *)p;
			size_t len = ev->len ? strlen(ev->name) : 0;

			if (len > 4 && 0 == strcmp(ev->name + len - 4, ".lua"))
				lua = true;
			p += sizeof(*ev) + ev->len;
		}
	}

	if (lua)
		tmr_start(&watch.settle, SETTLE_MS, settled, watch.pbx);
}


static int watch_start(struct pbx *pbx)
{
	char dir[512];
	const char *slash = strrchr(pbx->config_path, '/');
	int err;

	str_ncpy(dir, pbx->config_path, sizeof(dir));
	if (slash && (size_t)(slash - pbx->config_path) < sizeof(dir))
		dir[slash - pbx->config_path] = 0;
	else
		str_ncpy(dir, ".", sizeof(dir));

	watch.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (watch.fd < 0)
		return errno;

	if (inotify_add_watch(watch.fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO |
			      IN_DELETE) < 0)
		err = errno;
	else
		err = fd_listen(watch.fd, FD_READ, inotify_handler, NULL);

	if (err) {
		(void)close(watch.fd);
		watch.fd = -1;
		return err;
	}

	watch.pbx = pbx;
	log_info("reload: watching %s for changes", dir);

	return 0;
}


/** Watch the configuration's folder, or stop, as its setting says. */
void reload_watch_update(struct pbx *pbx)
{
	int err;

	if (pbx->set.reload_on_change == (watch.fd >= 0))
		return;

	if (!pbx->set.reload_on_change) {
		reload_close();
		log_info("reload: no longer watching for changes");
		return;
	}

	err = watch_start(pbx);
	if (err)
		log_warn("reload: cannot watch the configuration: %m", err);
}


void reload_close(void)
{
	tmr_cancel(&watch.settle);
	if (watch.fd >= 0) {
		fd_close(watch.fd);
		(void)close(watch.fd);
		watch.fd = -1;
	}
}
