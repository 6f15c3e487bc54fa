# hinetd — build, run, test, bench. Every target installs what it needs.
GO      ?= go
BIN     := bin
export CGO_ENABLED := 1

APT_BUILD := libseccomp-dev libc6-dev gcc pkg-config
APT_TEST  := tcpd libwrap0-dev procps util-linux rsyslog rsyslog-gnutls gnutls-bin tftpd-hpa tftp-hpa netcat-openbsd iproute2 fingerd finger oidentd \
	inetutils-ftpd inetutils-ftp inetutils-telnetd inetutils-telnet popa3d dovecot-imapd \
	xinetd rsh-server rsh-client talkd bootp curl
# The classic servers (test/classic_test.go). xinetd is listed so that it, not
# openbsd-inetd, satisfies rsh-server's and talkd's inet-superserver dependency.
APT_BENCH := xinetd ucspi-tcp ipsvd

.PHONY: all build run test unit integration fuzz bench install deps-build deps-test deps-bench test-setup clean

all: build

# apt-get only when a package is missing, so a warm machine does not hit the network.
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
endef

deps-build:
	$(call apt_ensure,$(APT_BUILD))

deps-test: deps-build
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

build: deps-build
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

run: build
	./$(BIN)/hinetd -d --hosts-allow examples/hosts.allow --hosts-deny examples/hosts.deny --policy examples/policy examples/inetd.conf

# package:FuzzTarget:executions run briefly by make test. A count, not a
# duration: Go 1.26's fuzz coordinator can fail a run with "context deadline
# exceeded" when a -fuzztime duration ends while a worker is mid-call on a
# loaded machine (golang/go#75804, fixed in Go 1.27); a count has no deadline
# to race. Each count is about 5 s here at the rate the target runs on 2 cores.
# FUZZTIME=10m (or 1000000x) fuzzes every target that long instead.
FUZZ := ./internal/config:FuzzParse:50000x ./policy:FuzzParse:50000x \
	./internal/limits:FuzzAgainstSlow:40000x ./internal/acl:FuzzIdentReply:150000x \
	./internal/audit:FuzzFormat:25000x ./internal/audit/audittest:FuzzParseRFC5424:90000x ./internal/audit:FuzzCheckTarget:100000x \
	./hosts:FuzzParse:150000x ./hosts:FuzzExpand:150000x ./hosts:FuzzFastSlow:150000x \
	./internal/sandbox:FuzzSpecParse:150000x ./internal/sandbox:FuzzSpecRoundTrip:150000x

# Every test target installs and sets up first, so that no test finds a
# tool missing on a fresh machine (internal/testenv: under CI that fails).
unit: build deps-test test-setup
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test)

integration: build deps-test test-setup
	$(GO) test -count=1 -timeout 15m ./test/...

fuzz: build
	@set -e; for f in $(FUZZ); do pkg=$${f%%:*}; rest=$${f#*:}; t=$${rest%%:*}; n=$(if $(FUZZTIME),$(FUZZTIME),$${rest#*:}); \
	  echo "fuzz $$pkg $$t $$n"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $$n $$pkg; done

test: deps-test test-setup unit fuzz integration

bench: build deps-bench
	$(MAKE) -C test/bench

install: build
	install -d $(DESTDIR)/usr/sbin
	install -m 0755 $(BIN)/hinetd $(BIN)/hinetd-check $(BIN)/hinetd-match $(DESTDIR)/usr/sbin/

clean:
	rm -rf $(BIN)
