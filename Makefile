# hinetd — build, run, test, bench. Every target installs what it needs.
GO      ?= go
BIN     := bin
export CGO_ENABLED := 1

APT_BUILD := libseccomp-dev libc6-dev gcc pkg-config
APT_TEST  := tcpd libwrap0-dev procps util-linux rsyslog rsyslog-gnutls gnutls-bin tftpd-hpa tftp-hpa netcat-openbsd iproute2 fingerd finger oidentd
APT_BENCH := xinetd ucspi-tcp ipsvd

.PHONY: all build run test unit integration fuzz bench install deps-build deps-test deps-bench clean

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

deps-bench: deps-test
	$(call apt_ensure,$(APT_BENCH))

build: deps-build
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

run: build
	./$(BIN)/hinetd -d --hosts-allow examples/hosts.allow --hosts-deny examples/hosts.deny --policy examples/policy examples/inetd.conf

FUZZTIME ?= 10s
# package:FuzzTarget pairs run briefly by make test.
FUZZ := ./internal/config:FuzzParse ./policy:FuzzParse ./internal/limits:FuzzAgainstSlow \
	./internal/audit:FuzzFormat ./internal/audit:FuzzParseRFC5424 \
	./hosts:FuzzParse ./hosts:FuzzExpand ./hosts:FuzzFastSlow \
	./internal/sandbox:FuzzSpecParse ./internal/sandbox:FuzzSpecRoundTrip

unit: build
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test)

integration: build deps-test
	$(GO) test -count=1 -timeout 15m ./test/...

fuzz: build
	@set -e; for f in $(FUZZ); do pkg=$${f%%:*}; t=$${f##*:}; \
	  echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; done

test: unit fuzz integration

bench: build deps-bench
	$(MAKE) -C test/bench

install: build
	install -d $(DESTDIR)/usr/sbin
	install -m 0755 $(BIN)/hinetd $(BIN)/hinetd-check $(BIN)/hinetd-match $(DESTDIR)/usr/sbin/

clean:
	rm -rf $(BIN)
