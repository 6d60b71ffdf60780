# lunapbx — build, run, test.  `make run` and `make test` work on a fresh Debian 12.
CC      ?= cc
# libre's headers must see the -D flags libre itself was built with
# (/usr/share/re/re.mk): a mismatch silently changes `struct sa`.
RE_DEFS := -DHAVE_INTTYPES_H -DHAVE_STDBOOL_H -DHAVE_INET6 -DHAVE_PTHREAD \
           -DHAVE_GETIFADDRS -DHAVE_STRERROR_R -DHAVE_GETOPT -DHAVE_EPOLL \
           -DHAVE_SELECT -DHAVE_POLL -DHAVE_SIGNAL -DHAVE_SYS_TIME_H \
           -DHAVE_INET_NTOP -DHAVE_INET_PTON -DHAVE_FORK -DHAVE_PWD_H \
           -DHAVE_SETRLIMIT -DLINUX -D_GNU_SOURCE
PKGS    := libre librem lua5.4 sndfile liburing sqlite3
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  += $(OPT) $(SAN) -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow \
           -Wmissing-prototypes -Icore $(RE_DEFS) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(SAN) $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -ledit
# The allocator: jemalloc keeps the RSS of a PBX under a load that rises
# and falls flat where glibc's fragments (core/memtrim.c says more).  The
# sanitized builds (asan, fuzz) set MALLOC= (ASan brings its own), and
# the unit tests link without it (spec/support/tap.h brings its own).
MALLOC  ?= -ljemalloc

BUILD   := build

# Where `make install` puts things (DESTDIR is prepended to each).  The
# binary has the Lua folder compiled in (build/paths.h), so build with the
# PREFIX you install with.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share/lunapbx
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/lunapbx
UNITDIR ?= /lib/systemd/system
CORE_SRC := $(filter-out core/main.c,$(wildcard core/*.c core/*/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard spec/unit/*.c)
UNIT_BIN := $(UNIT_SRC:spec/unit/%.c=$(BUILD)/spec/unit/%.t)

# Debian packages the build, the PBX and the tests need.
DEB_PKGS := build-essential pkg-config libre-dev librem-dev liblua5.4-dev \
            lua5.4 libsndfile1-dev libedit-dev sip-tester baresip-core \
            lua-busted sox espeak-ng python3 tshark tmux liburing-dev \
            libsqlite3-dev msmtp python3-aiosmtpd linphone-cli fail2ban \
            clang libclang-rt-14-dev python3-websockets openssl chromium chromium-driver \
            dpkg-dev fakeroot systemd man-db libjemalloc-dev
STAMP_DEPS := $(BUILD)/.deps
# What only `make bench` needs: the reference it is compared with.
BENCH_PKGS := kamailio kamailio-lua-modules
BENCH_BIN := $(BUILD)/bench/relay $(BUILD)/bench/rtpload $(BUILD)/bench/mixbench

.PHONY: all deps run test check unit bench sounds clean asan fuzz fuzz-bins fuzz-link soak \
	install deb
# Everything `make run` needs: the PBX and the prompts it plays.
all: $(BUILD)/lunapbx sounds

# $(call apt_install,PACKAGES): install those not installed yet.
apt_install = missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

deps: $(STAMP_DEPS)
$(STAMP_DEPS):
	@mkdir -p $(BUILD)
	@$(call apt_install,$(DEB_PKGS))
	@touch $@

$(BUILD)/%.o: %.c $(STAMP_DEPS) $(wildcard core/*.h core/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Rewritten only when a path changes, so that main.o is rebuilt then.
$(BUILD)/paths.h: FORCE
	@mkdir -p $(BUILD)
	@printf '#define LUNAPBX_LIBDIR "%s"\n' "$(DATADIR)/lua" > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
FORCE:

$(BUILD)/core/main.o: CFLAGS += -I$(BUILD)
$(BUILD)/core/main.o: $(BUILD)/paths.h

$(BUILD)/lunapbx: $(BUILD)/core/main.o $(CORE_OBJ)
	$(CC) -o $@ $^ $(MALLOC) $(LDLIBS)

$(BUILD)/spec/unit/%.t: spec/unit/%.c $(CORE_OBJ) spec/support/tap.h spec/support/audio.h spec/support/tmpstore.h spec/support/wavfile.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ispec/support -o $@ $< $(CORE_OBJ) $(LDLIBS)

sounds: $(STAMP_DEPS)
	@$(MAKE) -s -C sounds

run: deps
	@$(MAKE) --no-print-directory $(BUILD)/lunapbx sounds
	$(BUILD)/lunapbx -c dialplans/default.lua

unit: $(UNIT_BIN)

# The PBX built with AddressSanitizer and LeakSanitizer: build/asan/lunapbx.
asan: $(STAMP_DEPS)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT="-O1 -g" MALLOC= \
	  SAN="-fsanitize=address -fno-omit-frame-pointer" $(BUILD)/asan/lunapbx

# libFuzzer targets (spec/fuzz/fz_*.c) over the core built by clang with
# ASan and UBSan: build/fuzz/fz_*.  `make fuzz` runs each FUZZ_SECONDS
# (corpus kept in build/fuzz/corpus, crashes in build/fuzz/crashes).
FUZZ_NAMES := $(patsubst spec/fuzz/fz_%.c,%,$(wildcard spec/fuzz/fz_*.c))
FUZZ_OUT ?= $(abspath $(BUILD))/fuzz
FUZZ_SECONDS ?= 600

fuzz-bins: $(STAMP_DEPS)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz/obj CC=clang MALLOC= \
	  OPT="-O1 -g" FUZZ_OUT=$(FUZZ_OUT) \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer" \
	  fuzz-link

fuzz-link: $(FUZZ_NAMES:%=$(FUZZ_OUT)/fz_%)

$(FUZZ_OUT)/fz_%: spec/fuzz/fz_%.c spec/fuzz/fuzz.h $(CORE_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LINK $@"
	@$(CC) $(CFLAGS) -fsanitize=fuzzer -Ispec/fuzz -o $@ $< $(CORE_OBJ) $(LDLIBS)

fuzz: fuzz-bins
	@python3 spec/fuzz/seeds.py $(BUILD)/fuzz/seeds
	python3 spec/fuzz/run --seconds $(FUZZ_SECONDS) --json $(BUILD)/fuzz/results.json

# Every test speaks TAP; prove runs them all.  Dependencies first, in their
# own make run, so that pkg-config exists when the flags are computed.
test: deps
	@$(MAKE) --no-print-directory check

# The SIP-heavy end-to-end files run a second time against the sanitized
# build: any memory error or leak in those paths fails the test.  Each gets
# a wrapper in build/asan-e2e/ that points it at build/asan/lunapbx and at
# slot 1 (its own addresses), so it may run beside the plain one.
ASAN_E2E := spec/e2e/20_calls_sipp.t spec/e2e/30_b2bua_sipp.t \
            spec/e2e/35_hold_fork.t spec/e2e/36_late_offer.t \
            spec/e2e/33_refer_replaces.t spec/e2e/37_hold_moh.t \
            spec/e2e/49_moh_stream.t \
            spec/e2e/38_transfer_blind.t spec/e2e/39_transfer_attended.t \
            spec/e2e/73_seed_transfer.t \
            spec/e2e/50_torture.t spec/e2e/60_reload_safety.t \
            spec/e2e/62_console_calls.t spec/e2e/63_originate.t \
            spec/e2e/64_reload.t \
            spec/e2e/71_trunk_register.t spec/e2e/72_trunk_peers.t \
            spec/e2e/80_sip_trace.t spec/e2e/82_errors_requests.t \
            spec/e2e/76_video_reinvite.t spec/e2e/42_media_dtmf_ivr.t \
            spec/e2e/45_voicemail.t spec/e2e/46_mwi_email.t \
            spec/e2e/47_voicemail_kill9.t spec/e2e/48_vmmain_options.t \
            spec/e2e/55_conference.t \
            spec/e2e/93_events_ws.t spec/e2e/94_metrics.t \
            spec/e2e/95_slow_client.t spec/e2e/96_api_commands.t \
            spec/e2e/97_https.t \
            spec/e2e/52_parking.t spec/e2e/53_pickup.t spec/e2e/54_blf.t \
            spec/e2e/58_followme.t spec/e2e/56_conference_pin.t \
            spec/e2e/57_conference_ten.t \
            spec/e2e/11_auth_digest.t spec/e2e/12_protection.t \
            spec/e2e/13_fail2ban.t spec/e2e/84_sent_grammar.t \
            spec/e2e/51_netfuzz.t spec/e2e/67_crash_restart.t \
            spec/e2e/24_queue_phones.t spec/e2e/25_queue_strategies.t \
            spec/e2e/26_queue_agents.t spec/e2e/27_queue_console.t \
            spec/e2e/28_queue_wallboard.t spec/e2e/22_queue_weight_pause.t \
            spec/e2e/23_queue_ring_announce.t spec/e2e/29_queue_announce.t \
            spec/e2e/68_cdr.t spec/e2e/69_cdr_kill9.t spec/e2e/98_install.t
ASAN_WRAP := $(ASAN_E2E:spec/e2e/%.t=$(BUILD)/asan-e2e/%.t)

$(BUILD)/asan-e2e/%.t: spec/e2e/%.t
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# %s against the sanitized build, in slot 1\nLUNAPBX_BIN=%s LUNAPBX_E2E_SLOT=1 exec %s "$$@"\n' \
	  "$<" "$(abspath $(BUILD))/asan/lunapbx" "$(abspath $<)" > $@
	@chmod +x $@

# Four test files at a time: most of an end-to-end test is waiting for
# phones and timers (a full run: ~430 s of CPU over ~3600 s of files on 2
# cores), and each file has its own addresses (spec/support/lunatest/
# net.py).  The sanitized files go first: the longest ones are among
# them, and started last they would end the run alone.  JOBS=1 runs them
# one by one.
JOBS ?= 4

check: $(BUILD)/lunapbx $(UNIT_BIN) $(BENCH_BIN) sounds asan $(ASAN_WRAP) fuzz-bins
	prove --timer -j$(JOBS) $(ASAN_WRAP) spec/e2e/*.t $(UNIT_BIN) spec/lua/*.t \
	  spec/fuzz/fuzz.t

# The benchmark's own UDP tools (bench/relay/): plain C, no libre.
$(BUILD)/bench/%: bench/relay/%.c bench/relay/udpaddr.c bench/relay/udpaddr.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=gnu11 -Wall -Wextra -Wshadow -o $@ $< bench/relay/udpaddr.c -lm

# The mixer's benchmark: the PBX's media objects without SIP.
$(BUILD)/bench/mixbench: bench/mixer/mixbench.c $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(CORE_OBJ) $(LDLIBS)

# `make bench` (full run, ~32 min), `make bench BENCH_ARGS="--mode quick"`.
bench: deps
	@$(call apt_install,$(BENCH_PKGS))
	@$(MAKE) --no-print-directory $(BUILD)/lunapbx $(BENCH_BIN) sounds
	bench/run $(BENCH_ARGS)

# `make soak` (SOAK_MINUTES, default 60): the mixed load of bench/run
# --mode soak after a quick ramp; README, "Soak".
SOAK_MINUTES ?= 60
soak: deps
	@$(MAKE) --no-print-directory $(BUILD)/lunapbx $(BENCH_BIN) sounds
	bench/run --mode soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

clean:
	rm -rf $(BUILD)/core $(BUILD)/spec $(BUILD)/bench $(BUILD)/lunapbx \
	  $(BUILD)/paths.h $(BUILD)/deb

# -- Installing ---------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=/tmp/root]: the binary, the Lua
# library and the sounds under PREFIX, an example configuration in
# /etc/lunapbx/ (kept if there is one: the new one is lunapbx.lua.new), the
# state folder, the systemd unit, its user (sysusers.d), the man page.
# As root without DESTDIR the user is created and the state folder is
# given to it.
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g'
LUA_FILES := $(shell find lua -name '*.lua' 2>/dev/null)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR) \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/lunapbx \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d
	install -d -m 0750 $(DESTDIR)$(STATEDIR)
	install -m 0755 $(BUILD)/lunapbx $(DESTDIR)$(SBINDIR)/lunapbx
	@for f in $(LUA_FILES); do \
	  install -D -m 0644 $$f $(DESTDIR)$(DATADIR)/$$f || exit 1; done
	@cd sounds && find . -name '*.wav' | while read f; do \
	  install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/sounds/$$f" || exit 1; done
	@echo "installed $(words $(LUA_FILES)) Lua files and" \
	  $$(find sounds -name '*.wav' | wc -l) "sounds under $(DESTDIR)$(DATADIR)"
	@conf=$(DESTDIR)$(SYSCONFDIR)/lunapbx/lunapbx.lua; \
	  [ -e $$conf ] && conf=$$conf.new; \
	  { $(SUBST) dist/lunapbx.lua.head; cat dialplans/default.lua; } > $$conf; \
	  chmod 0640 $$conf; echo "example configuration: $$conf"
	$(SUBST) dist/lunapbx.service.in > $(DESTDIR)$(UNITDIR)/lunapbx.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/lunapbx.service
	install -m 0644 dist/lunapbx.sysusers \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d/lunapbx.conf
	$(SUBST) dist/lunapbx.8.in > $(DESTDIR)$(MANDIR)/man8/lunapbx.8
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/lunapbx.8
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  id lunapbx >/dev/null 2>&1 || useradd --system --home-dir $(STATEDIR) \
	    --no-create-home --shell /usr/sbin/nologin lunapbx; \
	  chown lunapbx:lunapbx $(STATEDIR); \
	  chgrp lunapbx $(SYSCONFDIR)/lunapbx/lunapbx.lua*; \
	  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

# -- make deb: a Debian package built from the tree ----------------------------
# build/deb/: the PBX built for /usr (its own objects), installed into
# build/deb/root, its shared libraries' packages found by dpkg-shlibdeps.
DEB_VERSION ?= 0.1-1
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_ROOT := $(BUILD)/deb/root
DEB_FILE := $(BUILD)/lunapbx_$(DEB_VERSION)_$(DEB_ARCH).deb

deb: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/deb/build PREFIX=/usr \
	  UNITDIR=/lib/systemd/system $(BUILD)/deb/build/lunapbx sounds
	rm -rf $(DEB_ROOT)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/deb/build PREFIX=/usr \
	  UNITDIR=/lib/systemd/system DESTDIR=$(abspath $(DEB_ROOT)) install
	gzip -9n $(DEB_ROOT)/usr/share/man/man8/lunapbx.8
	install -d $(DEB_ROOT)/DEBIAN $(DEB_ROOT)/usr/share/doc/lunapbx
	install -m 0644 README.md $(DEB_ROOT)/usr/share/doc/lunapbx/README.md
	for f in postinst prerm postrm conffiles; do \
	  install -m 0755 dist/debian/$$f $(DEB_ROOT)/DEBIAN/$$f || exit 1; done
	chmod 0644 $(DEB_ROOT)/DEBIAN/conffiles
	cd $(BUILD)/deb && mkdir -p debian && \
	  printf 'Source: lunapbx\n\nPackage: lunapbx\nArchitecture: any\n' \
	    > debian/control && \
	  dpkg-shlibdeps -O root/usr/sbin/lunapbx \
	  | sed -n 's/^shlibs:Depends=//p' > depends
	test -s $(BUILD)/deb/depends
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
	  -e "s|@DEPENDS@|$$(cat $(BUILD)/deb/depends)|" \
	  -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
	  dist/debian/control.in > $(DEB_ROOT)/DEBIAN/control
	fakeroot dpkg-deb --build -Zxz $(DEB_ROOT) $(DEB_FILE)
	@echo "package: $(DEB_FILE)"
