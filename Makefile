# hinetd — build, run, test, bench. Every target installs what it needs.
GO      ?= go
BIN     := bin
export CGO_ENABLED := 1

APT_BUILD := libseccomp-dev libc6-dev gcc pkg-config
APT_TEST  := tcpd libwrap0-dev procps util-linux rsyslog rsyslog-gnutls gnutls-bin tftpd-hpa tftp-hpa netcat-openbsd iproute2 fingerd finger oidentd \
	inetutils-ftpd inetutils-ftp inetutils-telnetd inetutils-telnet popa3d dovecot-imapd \
	xinetd rsh-server rsh-client talkd bootp curl update-inetd systemd
# The classic servers (test/classic_test.go). xinetd is listed so that it, not
# openbsd-inetd, satisfies rsh-server's and talkd's inet-superserver dependency.
APT_BENCH := xinetd ucspi-tcp ipsvd

.PHONY: all build build-bin run test unit integration fuzz bench install install-files deb deps-build deps-test deps-bench deps-deb test-setup clean

# make install puts the same layout under DESTDIR/PREFIX as the Debian
# package (make deb) puts under /: binaries, man pages, /etc/hinetd/,
# the audit spool, the systemd unit and the init script.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
STATEDIR   ?= /var/lib/hinetd
UNITDIR    ?= /lib/systemd/system
VERSION    ?= $(shell sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)
LDFLAGS    := -X github.com/hinetd/hinetd/internal/version.Version=$(VERSION) $(GOLDFLAGS)
MAN5 := docs/man/hinetd.conf.5 docs/man/hinetd.policy.5
MAN8 := $(wildcard docs/man/*.8)
APT_DEB := debhelper lintian mandoc dpkg-dev fakeroot

all: build

# apt-get only when a package is missing, so a warm machine does not hit the network.
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
endef

deps-build:
	$(call apt_ensure,$(APT_BUILD))

# The package and man page tests (test/package_test.go) need APT_DEB.
deps-test: deps-build deps-deb
	$(call apt_ensure,$(APT_TEST))

# What the tests need that only root can set up: a user with a supplementary
# group (policy's initgroups test compares with /etc/group, where a fresh
# Debian lists no member). Without root it is left out and says so; the tests
# that need root then skip, or under CI (HINETD_CI=1, set by .ci/run) fail.
TEST_USER := hinetd-test
test-setup: deps-test
	@if [ "$$(id -u)" != 0 ]; then echo "test-setup: not root: tests that need root will skip (fail under CI)"; exit 0; fi; \
	getent group $(TEST_USER)-sup >/dev/null || groupadd --system $(TEST_USER)-sup; \
	getent passwd $(TEST_USER) >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin -G $(TEST_USER)-sup $(TEST_USER)

deps-bench: deps-test
	$(call apt_ensure,$(APT_BENCH))

build: deps-build build-bin

build-bin:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

run: build
	./$(BIN)/hinetd -d --hosts-allow examples/hosts.allow --hosts-deny examples/hosts.deny --policy examples/policy examples/inetd.conf

# package:FuzzTarget:executions run briefly by make test. A count, not a
# duration: Go 1.26's fuzz coordinator can fail a run with "context deadline
# exceeded" when a -fuzztime duration ends while a worker is mid-call on a
# loaded machine (golang/go#75804, fixed in Go 1.27); a count has no deadline
# to race. Each count is about 5 s here at the rate the target runs on 2 cores.
# FUZZTIME=10m (or 1000000x) fuzzes every target that long instead.
FUZZ := ./internal/config:FuzzParse:50000x ./internal/xinetd:FuzzParse:100000x ./policy:FuzzParse:50000x ./policy:FuzzPasswd:100000x \
	./internal/limits:FuzzAgainstSlow:40000x ./internal/acl:FuzzIdentReply:150000x ./internal/acl:FuzzWaitFilter:150000x \
	./internal/audit:FuzzFormat:25000x ./internal/audit/audittest:FuzzParseRFC5424:90000x ./internal/audit:FuzzCheckTarget:100000x \
	./hosts:FuzzParse:150000x ./hosts:FuzzExpand:150000x ./hosts:FuzzFastSlow:150000x \
	./internal/sandbox:FuzzSpecParse:150000x ./internal/sandbox:FuzzSpecRoundTrip:150000x \
	./internal/seccomp:FuzzEval:150000x

# Every test target installs and sets up first, so that no test finds a
# tool missing on a fresh machine (internal/testenv: under CI that fails).
unit: build deps-test test-setup
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e '/hinetd/test$$' -e '/hinetd/test/')

integration: build deps-test test-setup
	$(GO) test -count=1 -timeout 15m ./test/...

fuzz: build
	@set -e; for f in $(FUZZ); do pkg=$${f%%:*}; rest=$${f#*:}; t=$${rest%%:*}; n=$(if $(FUZZTIME),$(FUZZTIME),$${rest#*:}); \
	  echo "fuzz $$pkg $$t $$n"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $$n $$pkg; done

test: deps-test test-setup unit fuzz integration

bench: build deps-bench
	$(MAKE) -C test/bench

install: build install-files

install-files:
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/share/hinetd/profiles $(DESTDIR)$(SYSCONFDIR)/hinetd $(DESTDIR)$(SYSCONFDIR)/default \
	  $(DESTDIR)$(SYSCONFDIR)/init.d $(DESTDIR)$(UNITDIR)
	install -d -m 0700 $(DESTDIR)$(STATEDIR)/spool
	install -m 0755 $(wildcard $(BIN)/hinetd*) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 dist/hinetd.policy $(DESTDIR)$(SYSCONFDIR)/hinetd/hinetd.policy
	install -m 0644 dist/hinetd.default $(DESTDIR)$(SYSCONFDIR)/default/hinetd
	install -m 0644 dist/inetd.conf $(DESTDIR)$(PREFIX)/share/hinetd/inetd.conf
	install -m 0644 policy/profiles/*.policy $(DESTDIR)$(PREFIX)/share/hinetd/profiles/
	sed 's|/usr/sbin/hinetd|$(PREFIX)/sbin/hinetd|' dist/hinetd.service > $(DESTDIR)$(UNITDIR)/hinetd.service
	sed 's|/usr/sbin/hinetd|$(PREFIX)/sbin/hinetd|' dist/hinetd.init > $(DESTDIR)$(SYSCONFDIR)/init.d/hinetd
	chmod 0644 $(DESTDIR)$(UNITDIR)/hinetd.service
	chmod 0755 $(DESTDIR)$(SYSCONFDIR)/init.d/hinetd

# The Debian package, built from a copy of the tracked files in
# $(DEBDIR)/hinetd-$(VERSION) (dpkg-buildpackage writes next to the
# source): $(DEBDIR)/hinetd_$(VERSION)_ARCH.deb, then lintian on it.
DEBDIR ?= $(BIN)/deb
deps-deb: deps-build
	$(call apt_ensure,$(APT_DEB))

deb: deps-deb
	$(GO) mod download
	rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/hinetd-$(VERSION)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp -P --parents -t $(DEBDIR)/hinetd-$(VERSION)
	cd $(DEBDIR)/hinetd-$(VERSION) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning $(DEBDIR)/hinetd_$(VERSION)_$$(dpkg --print-architecture).deb

clean:
	rm -rf $(BIN)
