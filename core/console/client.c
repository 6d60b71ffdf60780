/**
 * @file client.c  `lunapbx -r`: the console's client.  It connects to the
 * PBX's socket and moves text: chunks to evaluate, words to complete, and
 * back results, output and log lines.  Everything Lua happens in the PBX.
 *
 * On a terminal it edits lines with libedit (history, completion), and
 * prints log lines as they come, redrawing the line being typed.
 */
#include <histedit.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <wchar.h>
#include <re.h>
#include <lua.h>
#include "console/console.h"
#include "console/frame.h"

struct client {
	int fd;
	struct mbuf *rx;       /* frames as they arrive */
	EditLine *el;          /* NULL unless on a terminal */
	FILE *logf;            /* where log lines go */
	bool more;             /* the chunk goes on: continuation prompt */
};


static int send_frame(struct client *cl, char type, const char *s, size_t n)
{
	struct mbuf *mb = mbuf_alloc(n + FRAME_HDR);
	int err = frame_encode(mb, type, s, n);

	for (size_t off = 0; !err && off < mb->end; ) {
		ssize_t w = write(cl->fd, mb->buf + off, mb->end - off);

		if (w <= 0)
			err = errno ? errno : EPIPE;
		else
			off += (size_t)w;
	}
	mem_deref(mb);

	return err;
}


/* A log line or output, while the user may be typing: clear the line,
 * print, and let libedit draw the prompt and the line again. */
static void show_async(struct client *cl, FILE *f, const struct pl *pl)
{
	if (cl->el)
		fputs("\r\033[K", stdout);
	fprintf(f, "%.*s%s", (int)pl->l, pl->p,
		pl->l && pl->p[pl->l - 1] == '\n' ? "" : "\n");
	fflush(f);
}


/* Read one frame (blocking); ENOTCONN when the PBX closed the socket. */
static int next_frame(struct client *cl, char *type, struct pl *pl)
{
	struct mbuf *rx = cl->rx;

	for (;;) {
		ssize_t n;

		if (0 == frame_decode(rx, type, pl))
			return 0;

		if (rx->pos && rx->pos == rx->end)
			mbuf_rewind(rx);
		if (mbuf_resize(rx, rx->end + 4096))
			return ENOMEM;
		n = read(cl->fd, rx->buf + rx->end, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ENOTCONN;
		rx->end += (size_t)n;
	}
}


/* Frames until one of type @a want (log lines and output shown). */
static int wait_for(struct client *cl, char want, struct pl *pl)
{
	char type;
	int err;

	while (!(err = next_frame(cl, &type, pl))) {
		if (type == want)
			return 0;
		if (type == 'L')
			show_async(cl, cl->logf, pl);
		else if (type == 'O')
			show_async(cl, stdout, pl);
	}

	return err;
}


static int connect_pbx(const char *state_dir)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (re_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/console.sock",
			state_dir) >= (int)sizeof(sun.sun_path)) {
		fprintf(stderr, "lunapbx: state folder path too long\n");
		return -1;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		fprintf(stderr, "lunapbx: no PBX console at %s: %m (is the"
			" PBX running with --state %s?)\n", sun.sun_path,
			state_dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}

	return fd;
}


/*
 * Evaluate a chunk.  Returns 'o', 'e' or 'i' (incomplete), or 0 when the
 * connection is gone; the text is shown unless incomplete.
 */
static char eval(struct client *cl, const char *chunk)
{
	struct pl pl;
	char st;

	if (send_frame(cl, 'E', chunk, strlen(chunk)) ||
	    wait_for(cl, 'R', &pl) || !pl.l)
		return 0;

	st = pl.p[0];
	if (st != 'i' && pl.l > 1)
		fprintf(st == 'o' ? stdout : stderr, "%.*s\n",
			(int)pl.l - 1, pl.p + 1);
	fflush(stdout);

	return st;
}


static int run_exec(struct client *cl, const char *code)
{
	switch (eval(cl, code)) {

	case 'o':
		return 0;
	case 'i':
		fprintf(stderr, "lunapbx: the chunk is incomplete (it ends"
			" inside a statement)\n");
		return 1;
	case 0:
		fprintf(stderr, "lunapbx: the PBX closed the console\n");
		return 1;
	default:
		return 1;
	}
}


/* -f: every log line until interrupted or the PBX goes away. */
static int run_follow(struct client *cl)
{
	const char *on = "log.follow(true)";
	struct pl pl;

	cl->logf = stdout;
	if (send_frame(cl, 'E', on, strlen(on)) || wait_for(cl, 'R', &pl))
		return 1;
	fprintf(stderr, "lunapbx: following the log (Ctrl-C stops)\n");

	(void)wait_for(cl, 0, &pl);   /* no frame has type 0 */

	return 0;
}


/* Lines from a pipe: chunks as on a terminal, without the editing. */
static int run_lines(struct client *cl)
{
	struct mbuf *chunk = mbuf_alloc(256);
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	while (getline(&line, &cap, stdin) > 0) {
		char st;

		(void)mbuf_write_str(chunk, line);
		(void)mbuf_write_u8(chunk, 0);
		st = eval(cl, (char *)chunk->buf);
		chunk->end = chunk->pos = chunk->end - 1;   /* drop the NUL */
		if (st == 'i')
			continue;
		if (st != 'o')
			rc = 1;
		mbuf_rewind(chunk);
		if (!st)
			break;
	}
	free(line);
	mem_deref(chunk);

	return rc;
}


static struct client *client_of(EditLine *el)
{
	void *cl = NULL;

	(void)el_get(el, EL_CLIENTDATA, &cl);

	return cl;
}


static char *prompt(EditLine *el)
{
	return client_of(el)->more ? ">> " : "lunapbx> ";
}


/* Frames that came while the user types: shown above the line. */
static int drain_socket(struct client *cl)
{
	struct pl pl;
	char type;
	ssize_t n;

	if (mbuf_resize(cl->rx, cl->rx->end + 4096))
		return ENOMEM;
	n = read(cl->fd, cl->rx->buf + cl->rx->end, 4096);
	if (n <= 0)
		return ENOTCONN;
	cl->rx->end += (size_t)n;

	while (0 == frame_decode(cl->rx, &type, &pl)) {
		if (type == 'L' || type == 'O')
			show_async(cl, stdout, &pl);
	}
	(void)el_set(cl->el, EL_REFRESH);

	return 0;
}


/* libedit's input: a key from the terminal, or frames from the PBX. */
static int getc_fn(EditLine *el, wchar_t *wc)
{
	struct client *cl = client_of(el);
	static mbstate_t mbs;

	for (;;) {
		struct pollfd pfd[2] = {{ 0, POLLIN, 0 }, { cl->fd, POLLIN, 0 }};
		char c;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[1].revents && drain_socket(cl)) {
			fprintf(stderr, "\nlunapbx: the PBX closed the"
				" console\n");
			return -1;
		}
		if (!pfd[0].revents)
			continue;

		n = read(0, &c, 1);
		if (n <= 0)
			return n < 0 && errno == EINTR ? 0 : (int)n;

		/* a ^D typed ahead, while a chunk ran and the terminal was
		 * not in libedit's raw mode, comes as NUL: the canonical
		 * mode's end of file.  It still means ^D. */
		if (c == 0)
			c = 4;

		switch (mbrtowc(wc, &c, 1, &mbs)) {
		case (size_t)-2:
			continue;                  /* more bytes to come */
		case (size_t)-1:
			memset(&mbs, 0, sizeof(mbs));
			*wc = (unsigned char)c;
			return 1;
		default:
			return 1;
		}
	}
}


static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':';
}


/* Print candidates in columns, under the line being typed. */
static void list_candidates(const struct pl *pl)
{
	size_t width = 0, col = 0;
	struct pl rest = *pl, w;

	while (!re_regex(rest.p, rest.l, "[^\n]+", &w)) {
		width = max(width, w.l);
		rest.l -= (size_t)(w.p + w.l - rest.p);
		rest.p = w.p + w.l;
	}

	fputc('\n', stdout);
	rest = *pl;
	while (!re_regex(rest.p, rest.l, "[^\n]+", &w)) {
		col += width + 2;
		if (col > 78 && col > width + 2) {
			fputc('\n', stdout);
			col = width + 2;
		}
		printf("%-*.*s  ", (int)width, (int)w.l, w.p);
		rest.l -= (size_t)(w.p + w.l - rest.p);
		rest.p = w.p + w.l;
	}
	fputc('\n', stdout);
}


/* The longest prefix common to every candidate. */
static size_t common_prefix(const struct pl *pl, struct pl *first)
{
	struct pl rest = *pl, w;
	size_t n = 0;
	bool any = false;

	while (!re_regex(rest.p, rest.l, "[^\n]+", &w)) {
		if (!any) {
			*first = w;
			n = w.l;
			any = true;
		}
		for (size_t i = 0; i < n; i++) {
			if (i >= w.l || w.p[i] != first->p[i]) {
				n = i;
				break;
			}
		}
		rest.l -= (size_t)(w.p + w.l - rest.p);
		rest.p = w.p + w.l;
	}

	return n;
}


/* TAB: the PBX lists what the word can become; insert what they share,
 * or list them. */
static unsigned char complete_fn(EditLine *el, int ch)
{
	struct client *cl = client_of(el);
	const LineInfo *li = el_line(el);
	const char *start = li->cursor;
	struct pl pl, first = PL_INIT;
	size_t len, n;
	char buf[1024];
	(void)ch;

	while (start > li->buffer && word_char(start[-1]))
		--start;
	len = (size_t)(li->cursor - start);

	if (send_frame(cl, 'C', start, len) || wait_for(cl, 'M', &pl))
		return CC_FATAL;
	if (!pl.l)
		return CC_REFRESH_BEEP;

	n = common_prefix(&pl, &first);
	if (n > len && n - len < sizeof(buf)) {
		memcpy(buf, first.p + len, n - len);
		buf[n - len] = 0;
		(void)el_insertstr(el, buf);
		return CC_REFRESH;
	}

	list_candidates(&pl);

	return CC_REDISPLAY;
}


static const char *history_path(char *buf, size_t sz)
{
	const char *home = getenv("HOME");

	if (getenv("LUNAPBX_HISTORY"))
		return getenv("LUNAPBX_HISTORY");
	if (!home || re_snprintf(buf, sz, "%s/.lunapbx_history", home) < 0)
		return NULL;

	return buf;
}


static void edit_setup(struct client *cl, History **histp, const char *hf)
{
	HistEvent ev;
	History *hist = history_init();

	cl->el = el_init("lunapbx", stdin, stdout, stderr);
	(void)el_set(cl->el, EL_CLIENTDATA, cl);
	(void)el_set(cl->el, EL_EDITOR, "emacs");
	(void)el_set(cl->el, EL_SIGNAL, 1);
	(void)el_set(cl->el, EL_PROMPT, prompt);
	(void)el_set(cl->el, EL_GETCFN, getc_fn);
	(void)history(hist, &ev, H_SETSIZE, 1000);
	(void)history(hist, &ev, H_SETUNIQUE, 1);
	if (hf)
		(void)history(hist, &ev, H_LOAD, hf);
	(void)el_set(cl->el, EL_HIST, history, hist);
	/* wide strings: el_set() copies narrow ones and never frees them */
	(void)el_wset(cl->el, EL_ADDFN, L"lunapbx-complete",
		      L"complete a Lua name", complete_fn);
	(void)el_set(cl->el, EL_BIND, "^I", "lunapbx-complete", NULL);
	(void)el_source(cl->el, NULL);   /* the user's ~/.editrc */
	*histp = hist;
}


static int run_repl(struct client *cl)
{
	struct mbuf *chunk = mbuf_alloc(256);
	char hbuf[512];
	const char *hf = history_path(hbuf, sizeof(hbuf));
	History *hist;
	HistEvent ev;
	const char *line;
	struct pl pl;
	int n;

	if (send_frame(cl, 'H', "repl", 4) || wait_for(cl, 'R', &pl))
		return 1;
	printf("%.*s\n", (int)pl.l - 1, pl.p + 1);

	cl->logf = stdout;
	edit_setup(cl, &hist, hf);

	while ((line = el_gets(cl->el, &n)) && n > 0) {
		char st;

		(void)mbuf_write_str(chunk, line);
		while (chunk->end && chunk->buf[chunk->end - 1] == '\n')
			--chunk->end;
		if (!cl->more && !chunk->end)
			continue;
		(void)mbuf_write_u8(chunk, 0);

		st = eval(cl, (char *)chunk->buf);
		chunk->pos = chunk->end = chunk->end - 1;
		cl->more = st == 'i';
		if (cl->more) {
			(void)mbuf_write_u8(chunk, '\n');
			continue;
		}
		(void)history(hist, &ev, H_ENTER, (char *)chunk->buf);
		mbuf_rewind(chunk);
		if (!st)
			break;
	}
	if (!line)
		fputc('\n', stdout);

	if (hf)
		(void)history(hist, &ev, H_SAVE, hf);
	history_end(hist);
	el_end(cl->el);
	mem_deref(chunk);

	return 0;
}


/** `lunapbx -r`: a prompt, or one chunk (-x), or the log (-f). */
int console_client(const char *state_dir, const char *code, bool follow)
{
	struct client cl = { -1, NULL, NULL, stderr, false };
	int rc;

	cl.fd = connect_pbx(state_dir);
	if (cl.fd < 0)
		return 1;
	cl.rx = mbuf_alloc(4096);

	if (code)
		rc = run_exec(&cl, code);
	else if (follow)
		rc = run_follow(&cl);
	else if (isatty(0) && isatty(1))
		rc = run_repl(&cl);
	else
		rc = run_lines(&cl);

	mem_deref(cl.rx);
	close(cl.fd);

	return rc;
}
