/**
 * @file main.c  lunapbx: command line, start-up, the event loop.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "reload.h"
#include "sdnotify.h"
#include "paths.h"   /* build/paths.h: where `make install` puts lua/ */
#include "memtrim.h"
#include "console/console.h"
#include "http/httpd.h"
#include "capture/capture.h"
#include "media/codec.h"
#include "call/blf.h"
#include "call/dial.h"
#include "call/call.h"
#include "call/leg.h"
#include "call/rtpwatch.h"
#include "lua/runtime.h"
#include "media/sound.h"
#include "media/moh.h"
#include "media/recorder.h"
#include "media/rtpring.h"
#include "security/seclog.h"
#include "sip/auth.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "sip/sipsec.h"
#include "sip/sipstack.h"
#include "sip/trunk.h"
#include "sip/siptrace.h"
#include "sip/subscr.h"
#include "store/store.h"
#include "cdr/cdr.h"
#include "voicemail/mwi.h"
#include "voicemail/sendmail.h"
#include "voicemail/vmbox.h"


static volatile sig_atomic_t reload_requested;
static struct tmr signal_tmr;


static void usage(FILE *f)
{
	fprintf(f,
		"usage: lunapbx -c FILE [--listen ADDR:PORT] [--state DIR]"
		" [--sip-trace] [--capture NAME] [-v]\n"
		"       lunapbx -r [--state DIR] [-x CODE | -f]\n"
		"       lunapbx --check FILE\n"
		"\n"
		"  -c, --config FILE     Lua configuration and dialplan\n"
		"      --check FILE      compile FILE as the configuration,"
		" report\n"
		"                        FILE:LINE: errors, start nothing"
		" (exit 0 or 1)\n"
		"      --lib DIR         the PBX's Lua modules (default: lua/"
		" of the\n"
		"                        source tree, else %s)\n"
		"  -l, --listen A:P      SIP address, UDP and TCP (overrides"
		" the config)\n"
		"  -s, --state DIR       sockets, databases, recordings"
		" (default ./state)\n"
		"  -t, --sip-trace       print every SIP message in and out\n"
		"  -w, --capture NAME    write SIP (and the RTP of every call)"
		" to\n"
		"                        DIR/captures/NAME, a pcap file\n"
		"  -v, --verbose         debug logging\n"
		"  -r, --remote          a Lua console on the PBX running on"
		" the state folder\n"
		"  -x, --exec CODE       (with -r) run CODE, print the result,"
		" exit 1 on error\n"
		"  -f, --follow          (with -r) follow the PBX's log\n"
		"  -h, --help            this help\n"
		"\n"
		"SIGHUP reloads the configuration; calls in progress keep"
		" their code.\n", LUNAPBX_LIBDIR);
}


static void set_defaults(struct pbx *pbx)
{
	struct pbx_settings *set = &pbx->set;

	str_ncpy(set->realm, "lunapbx", sizeof(set->realm));
	str_ncpy(set->user_agent, "lunapbx/0.1", sizeof(set->user_agent));
	(void)sa_set_str(&set->sip_addr, "127.0.0.1", 5060);
	sa_init(&set->media_addr, AF_UNSPEC);
	set->rtp_min = 10000;
	set->rtp_max = 20000;
	set->lua_mem_mb = 512;
	set->call_mem_mb = 64;
}


/* The PBX's lua/ folder: --lib, else $LUNAPBX_LIB, else the first folder
 * above the executable that holds lua/lunapbx/init.lua (build/ or
 * build/asan/ of a source tree) or share/lunapbx/lua/lunapbx/init.lua
 * (bin/ or sbin/ of an installed tree, wherever it was copied: DESTDIR,
 * a package unpacked), else where `make install` put it.  The
 * executable's path is a real one, so tracebacks show no build/.. */
static int find_lib_dir(struct pbx *pbx, const char *lib)
{
	static const char *probes[] = { "lua", "share/lunapbx/lua" };
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (lib)
		return str_dup(&pbx->lib_dir, lib);
	if (getenv("LUNAPBX_LIB"))
		return str_dup(&pbx->lib_dir, getenv("LUNAPBX_LIB"));

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return str_dup(&pbx->lib_dir, LUNAPBX_LIBDIR);
	exe[n] = 0;

	while ((slash = strrchr(exe, '/')) && slash != exe) {
		*slash = 0;
		for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
			char probe[PATH_MAX + 48];

			re_snprintf(probe, sizeof(probe),
				    "%s/%s/lunapbx/init.lua", exe, probes[i]);
			if (0 == access(probe, R_OK))
				return re_sdprintf(&pbx->lib_dir, "%s/%s", exe,
						   probes[i]);
		}
	}

	return str_dup(&pbx->lib_dir, LUNAPBX_LIBDIR);
}


static void signal_poll(void *arg)
{
	struct pbx *pbx = arg;
	char err[1024];

	if (reload_requested) {
		reload_requested = 0;
		(void)sdnotify("RELOADING=1");
		(void)reload_now(pbx, err, sizeof(err), NULL);
		(void)sdnotify("READY=1");
	}
	tmr_start(&signal_tmr, 200, signal_poll, pbx);
}


static void on_sighup(int sig)
{
	(void)sig;
	reload_requested = 1;
}


static void on_signal(int sig)
{
	log_info("signal %d: shutting down", sig);
	re_cancel();
}


/* libre watches only fds below FD_SETSIZE unless told the real limit. */
static int raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	return fd_setsize((int)rl.rlim_cur);
}


static void vm_changed(const char *mailbox, void *arg)
{
	mwi_changed(arg, mailbox);
}


struct ep_count {
	const char *name;
	uint32_t n;
};


static bool count_leg(struct leg *leg, void *arg)
{
	struct ep_count *c = arg;
	const struct endpoint *ep = leg_endpoint(leg);

	if (ep && leg_state(leg) != LEG_ENDED && 0 == strcmp(ep->name, c->name))
		++c->n;
	return false;
}


/* For the call limits of the SIP side (sipsec): the calls up, or the legs
 * of one endpoint up (inbound and outbound, as Asterisk's call-limit). */
static uint32_t count_calls(const char *endpoint, void *arg)
{
	struct ep_count c = { endpoint, 0 };
	(void)arg;

	if (!endpoint)
		return call_count();

	(void)leg_apply(count_leg, &c);
	return c.n;
}


static bool endpoint_exists(const char *name, void *arg)
{
	struct pbx *pbx = arg;

	return endpoint_table_find_str(pbx->endpoints, name) != NULL;
}


/* The state database and the voicemail messages it indexes.  Without
 * them the PBX still runs: voicemail says it is unavailable. */
static void open_state(struct pbx *pbx)
{
	char path[512];
	int err;

	re_snprintf(path, sizeof(path), "%s/recordings", pbx->state_dir);
	if ((err = (int)recorder_clean(path)))
		log_info("state: %d partial recordings a crash left removed",
			 err);

	re_snprintf(path, sizeof(path), "%s/lunapbx.db", pbx->state_dir);
	err = store_open(&pbx->store, path);
	if (err) {
		log_error("state: cannot open %s: %m", path, err);
		return;
	}

	err = cdr_alloc(&pbx->cdr, pbx, pbx->store);
	if (err)
		log_error("cdr: no call records: %m", err);

	re_snprintf(path, sizeof(path), "%s/recordings", pbx->state_dir);
	err = vmbox_open(&pbx->vmbox, pbx->store, path);
	if (!err)
		err = mwi_alloc(&pbx->mwi, pbx->vmbox, pbx);
	if (err) {
		log_error("voicemail: cannot open its messages under %s: %m",
			  path, err);
		return;
	}
	vmbox_set_change_handler(pbx->vmbox, vm_changed, pbx->mwi);
}


/* The registrations kept in the state database from before a restart.
 * Without it the registrar keeps its bindings in memory only. */
static void restore_registrations(struct pbx *pbx)
{
	int err;

	if (!pbx->store)
		return;
	err = registrar_set_store(pbx->registrar, pbx->store);
	if (err) {
		log_error("state: registrations not kept: %m (%s)", err,
			  store_errmsg(pbx->store));
		return;
	}
	log_info("registrar: %u bindings back from the store",
		 registrar_restore(pbx->registrar, endpoint_exists, pbx));
}


static int start(struct pbx *pbx, const char *listen)
{
	struct registrar_conf rc = { 60, 3600, 10 };
	char err[1024];
	int e;

	if (luart_load(pbx->lua, pbx->config_path, err, sizeof(err))) {
		log_error("configuration: %s", err);
		return EINVAL;
	}

	if (listen && sa_decode(&pbx->set.sip_addr, listen, strlen(listen))) {
		log_error("--listen: '%s' is not ADDR:PORT", listen);
		return EINVAL;
	}
	if (!sa_isset(&pbx->set.media_addr, SA_ADDR)) {
		pbx->set.media_addr = pbx->set.sip_addr;
		sa_set_port(&pbx->set.media_addr, 0);
	}

	e = auth_alloc(&pbx->auth, pbx->set.realm, 300);
	if (!e)
		e = sipstack_alloc(&pbx->stack, pbx);
	if (!e)
		sipstack_set_invite_handler(pbx->stack, call_incoming);
	if (!e)
		sipsec_set_counter(sipstack_sec(pbx->stack), count_calls, pbx);
	if (!e)
		e = registrar_alloc(&pbx->registrar, sipstack_sip(pbx->stack),
				    &rc);
	if (!e)
		restore_registrations(pbx);
	if (!e)
		e = trunks_start(pbx->trunks);
	if (e)
		return e;
	if (pbx->mwi && mwi_attach(pbx->mwi, sipstack_subscr(pbx->stack),
				   pbx->registrar))
		log_warn("mwi: message-summary subscriptions unavailable");
	if (pbx->blf && blf_attach(pbx->blf, sipstack_subscr(pbx->stack)))
		log_warn("blf: dialog subscriptions unavailable");

	rtpwatch_start(pbx);
	memtrim_start(30);   /* freed heap pages back to the kernel */

	/* the PBX runs without a console when it cannot have one */
	(void)console_alloc(&pbx->console, pbx);
	reload_watch_update(pbx);
	httpd_update(pbx);

	log_info("ready: listening on udp:%J tcp:%J, media %j, %u endpoints,"
		 " config %s", &pbx->set.sip_addr, &pbx->set.sip_addr,
		 &pbx->set.media_addr, endpoint_table_count(pbx->endpoints),
		 pbx->config_path);

	return 0;
}


/* --check FILE: the configuration compiled and applied as at a start,
 * nothing opened (no sockets, no state folder, no database). */
static int check_config(const char *path, const char *lib)
{
	static struct pbx pbx;
	char err[2048];
	int e;

	if (libre_init())
		return 1;
	set_defaults(&pbx);
	e  = str_dup(&pbx.config_path, path);
	e |= find_lib_dir(&pbx, lib);
	if (!e)
		e = luart_alloc(&pbx.lua, &pbx);
	if (!e && luart_load(pbx.lua, path, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		e = EINVAL;
	}
	else if (!e) {
		printf("%s: ok (%u endpoints, Lua modules from %s)\n", path,
		       endpoint_table_count(pbx.endpoints), pbx.lib_dir);
	}
	else {
		fprintf(stderr, "%s: %s\n", path, strerror(e));
	}

	call_close_all();
	pbx.lua = mem_deref(pbx.lua);
	pbx.trunks = mem_deref(pbx.trunks);
	pbx.endpoints = mem_deref(pbx.endpoints);
	mem_deref(pbx.config_path);
	mem_deref(pbx.lib_dir);
	libre_close();

	return e ? 1 : 0;
}


static void shutdown_pbx(struct pbx *pbx)
{
	(void)sdnotify("STOPPING=1");
	tmr_cancel(&signal_tmr);
	reload_close();
	pbx->console = mem_deref(pbx->console);
	httpd_close(pbx);
	rtpwatch_stop();
	memtrim_stop();
	call_close_all();
	pbx->cdr = mem_deref(pbx->cdr);   /* the records of legs still up */
	pbx->trunks = mem_deref(pbx->trunks);
	sendmail_close();
	mwi_detach(pbx->mwi);
	blf_detach(pbx->blf);
	subscr_close(sipstack_subscr(pbx->stack));   /* final NOTIFYs */
	/* un-REGISTERs and OPTIONS went out; their answers are not awaited */
	sip_close(sipstack_sip(pbx->stack), true);
	pbx->registrar = mem_deref(pbx->registrar);
	pbx->stack = mem_deref(pbx->stack);
	pbx->lua = mem_deref(pbx->lua);
	pbx->endpoints = mem_deref(pbx->endpoints);
	pbx->guest_acl = mem_deref(pbx->guest_acl);
	pbx->sec_trusted = mem_deref(pbx->sec_trusted);
	seclog_close();
	pbx->auth = mem_deref(pbx->auth);
	pbx->capture = mem_deref(pbx->capture);
	pbx->mwi = mem_deref(pbx->mwi);
	pbx->blf = mem_deref(pbx->blf);
	pbx->vmbox = mem_deref(pbx->vmbox);
	pbx->store = mem_deref(pbx->store);
	rtpring_close();            /* the calls' streams are gone */
	moh_close();                /* the classes' streams */
	sound_cache_flush();         /* the prompts and music still cached */
}


int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",  required_argument, NULL, 'c' },
		{ "listen",  required_argument, NULL, 'l' },
		{ "state",   required_argument, NULL, 's' },
		{ "sip-trace", no_argument,     NULL, 't' },
		{ "capture", required_argument, NULL, 'w' },
		{ "verbose", no_argument,       NULL, 'v' },
		{ "remote",  no_argument,       NULL, 'r' },
		{ "exec",    required_argument, NULL, 'x' },
		{ "follow",  no_argument,       NULL, 'f' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "check",   required_argument, NULL, 'K' },
		{ "lib",     required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	static struct pbx pbx;
	const char *config = NULL, *listen = NULL, *state = "state";
	const char *code = NULL, *capture = NULL, *check = NULL, *lib = NULL;
	bool remote = false, follow = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:l:s:tw:vrx:fh", longopts, NULL))
	       != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'l': listen = optarg; break;
		case 's': state = optarg; break;
		case 't': siptrace_enable(true); break;
		case 'w': capture = optarg; break;
		case 'v': log_set_level(LOG_DEBUG); pbx.verbose = true; break;
		case 'r': remote = true; break;
		case 'x': code = optarg; break;
		case 'f': follow = true; break;
		case 'h': usage(stdout); return 0;
		case 'K': check = optarg; break;
		case 'L': lib = optarg; break;
		default:  usage(stderr); return 2;
		}
	}
	if (check && !config && !remote && !code && !follow && optind == argc)
		return check_config(check, lib);
	if (check) {
		usage(stderr);
		return 2;
	}
	if (remote && !config && optind == argc && !(code && follow))
		return console_client(state, code, follow);
	if (!config || optind < argc || remote || code || follow) {
		usage(stderr);
		return 2;
	}

	setvbuf(stderr, NULL, _IOLBF, 0);
	log_set_journal(sdnotify_journal());
	err = libre_init();
	if (err)
		return 1;
	if (raise_fd_limit())
		log_warn("fd_setsize failed: limited to FD_SETSIZE sockets");

	set_defaults(&pbx);
	if (mkdir(state, 0700) && errno != EEXIST)
		log_warn("state folder %s: %m", state, errno);
	err  = str_dup(&pbx.config_path, config);
	err |= str_dup(&pbx.state_dir, state);
	err |= find_lib_dir(&pbx, lib);
	err |= capture_alloc(&pbx.capture, state);
	if (!err && capture && capture_start(pbx.capture, capture, true)) {
		log_error("--capture: cannot write %s/captures/%s (a plain"
			  " file name is needed)", state, capture);
		err = EINVAL;
	}
	if (!err)
		open_state(&pbx);
	if (!err)
		err = blf_alloc(&pbx.blf, &pbx);
	if (!err)
		err = luart_alloc(&pbx.lua, &pbx);
	if (!err)
		err = start(&pbx, listen);

	if (!err) {
		signal(SIGHUP, on_sighup);
		signal(SIGPIPE, SIG_IGN);
		tmr_start(&signal_tmr, 200, signal_poll, &pbx);
		(void)sdnotify("READY=1");
		err = re_main(on_signal);
	}

	shutdown_pbx(&pbx);
	mem_deref(pbx.config_path);
	mem_deref(pbx.state_dir);
	mem_deref(pbx.lib_dir);
	libre_close();
	tmr_debug();
	mem_debug();

	return err ? 1 : 0;
}
