# f8serve: one Makefile for the whole tree.
#
#   make run     install Debian packages if missing, build, serve models/ on 127.0.0.1:8080
#   make test    install, build (release + sanitizers), run every test: C (CUnit), trainer
#                (pytest), integration (pytest against a real f8d on loopback)
#   make model   retrain models/fashion.f8 (~27 min on 2 cores; the result is committed)
#   make zoo     build/zoo/{resnet18,resnet50,mobilenet_v1,mobilenet_v2}.f8, random weights
#   make all     build/libf8.a, build/f8 (CLI), build/f8d (daemon)
#   make fuzz    build the libFuzzer harnesses (fuzz/) and run each FUZZ_SECONDS (60) seconds
#   make soak    about 6 minutes of good, bad, abusive and overloading traffic (wrk) against the
#                release f8d, with reloads and a SIGTERM under load: bench/SOAK.md
#   make install / make uninstall   PREFIX (/usr/local), DESTDIR: programs, libf8 (.so, .a,
#                f8.h, f8.pc), models, proto files, man pages, systemd unit, config
#
# Sources are found by wildcard: a new .c file in a part's src/ folder is built without
# touching this file. Release objects go to build/obj, sanitizer objects to build/asan.

PYTHON   ?= /usr/bin/python3
HOST     ?= 127.0.0.1
PORT     ?= 8080
GRPC_PORT ?= 8081
BUILD    := build

CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
# Each part sees only the headers it may use: the engine its own, the imaging library the
# engine's public one, the daemon both public headers and its own src/ (core/, http/), and
# the daemon's core/ only itself (no front end's headers).
INC_ENGINE  := -Iengine/include -Iengine/src
INC_IMAGING := -Iengine/include -Iimaging/include
INC_DAEMON  := -Iengine/include -Iimaging/include -Idaemon/src -I$(BUILD)/gen
INC_CORE    := -Iengine/include -Iimaging/include -Idaemon/src/core
INC_CLI     := -Iengine/include -Iimaging/include
INC_TESTS   := -Iengine/include -Iimaging/include -Idaemon/src -I$(BUILD)/gen
INC_BENCH   := -Iengine/include
CFLAGS_RELEASE := $(CSTD) $(WARN) -O2 -g
CFLAGS_ASAN    := $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer \
                  -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_ASAN   := -fsanitize=address,undefined

PKGS_DAEMON := libuv libmicrohttpd gnutls libturbojpeg jansson libsystemd grpc libprotobuf-c zlib
PKG_CFLAGS   = $(shell pkg-config --cflags $(PKGS_DAEMON) 2>/dev/null)
LIBS_ENGINE  := -lpthread -lm
LIBS_IMAGING  = $(shell pkg-config --libs libturbojpeg 2>/dev/null)
LIBS_DAEMON   = $(shell pkg-config --libs $(PKGS_DAEMON) 2>/dev/null) -lpthread -lm
LIBS_CLI      = $(shell pkg-config --libs libturbojpeg jansson 2>/dev/null) -lpthread -lm

ENGINE_SRC  := $(wildcard engine/src/*.c engine/src/kernels/*.c)
IMAGING_SRC := $(wildcard imaging/src/*.c)
# The gRPC messages' C code is generated from proto/*.proto at build time (protoc-c) into
# build/gen/ and compiled into libf8d with the daemon's sources.
PROTOS      := $(wildcard proto/*.proto)
PROTO_C     := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
PROTO_H     := $(PROTO_C:.c=.h)
DAEMON_SRC  := $(wildcard daemon/src/*/*.c) $(PROTO_C)
# Files built into f8d as bytes (.incbin): the demo page.
DAEMON_ASM  := $(wildcard daemon/src/*/*.S)
CLI_SRC     := $(wildcard engine/cli/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

# The builds inside `make run` and `make test` use every core unless -j was given (then the
# jobserver shares it); the tests themselves run one after another.
NPROC      := $(shell nproc 2>/dev/null || echo 1)
BUILD_JOBS  = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))
asm_obj = $(patsubst %.S,$(BUILD)/$(1)/%.o,$(2))

# Engine kernels named *_avx512vnni.c / *_avx512bw.c / *_avx2.c are compiled for that instruction set only;
# libf8 picks them at run time (cpuid), so the binaries still run on CPUs without them.
ISA_AVX512VNNI := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mbmi2
ISA_AVX512BW   := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mbmi2
ISA_AVX2       := -mavx2 -mfma -mbmi2
$(BUILD)/obj/engine/%.o $(BUILD)/asan/engine/%.o: INCLUDES = $(INC_ENGINE)
$(BUILD)/obj/imaging/%.o $(BUILD)/asan/imaging/%.o: INCLUDES = $(INC_IMAGING)
$(BUILD)/obj/daemon/%.o $(BUILD)/asan/daemon/%.o: INCLUDES = $(INC_DAEMON)
# core/ knows no protocol: it cannot even name a front end's header
$(BUILD)/obj/daemon/src/core/%.o $(BUILD)/asan/daemon/src/core/%.o: INCLUDES = $(INC_CORE)
$(BUILD)/obj/engine/cli/%.o $(BUILD)/asan/engine/cli/%.o: INCLUDES = $(INC_CLI)
$(BUILD)/asan/tests/%.o: INCLUDES = $(INC_TESTS)
$(BUILD)/obj/%_avx512vnni.o: ISA_FLAGS = $(ISA_AVX512VNNI) -O3
$(BUILD)/asan/%_avx512vnni.o: ISA_FLAGS = $(ISA_AVX512VNNI)
$(BUILD)/obj/%_avx512bw.o: ISA_FLAGS = $(ISA_AVX512BW) -O3
$(BUILD)/asan/%_avx512bw.o: ISA_FLAGS = $(ISA_AVX512BW)
$(BUILD)/obj/%_avx2.o: ISA_FLAGS = $(ISA_AVX2) -O3
$(BUILD)/asan/%_avx2.o: ISA_FLAGS = $(ISA_AVX2)

.PHONY: all deps run test test-c test-trainer test-integration model zoo clean asan install bench bench-daemon bench-grpc \
        fuzz fuzz-build fuzz-smoke soak

all: $(BUILD)/libf8.a $(BUILD)/f8 $(BUILD)/f8d $(BUILD)/f8-classify

deps:
	@./scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory $(BUILD_JOBS) all
	./$(BUILD)/f8d --models models --host $(HOST) --port $(PORT) --grpc-port $(GRPC_PORT)

# ---- generated code -----------------------------------------------------------------
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c -Iproto --c_out=$(BUILD)/gen $<

# The daemon's sources may include the generated headers: make them first.
$(call obj,obj,$(DAEMON_SRC) daemon/main.c) $(call obj,asan,$(DAEMON_SRC) daemon/main.c \
    $(UNIT_SRC)): | $(PROTO_H)

# ---- release build ------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RELEASE) $(INCLUDES) $(ISA_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libf8.a: $(call obj,obj,$(ENGINE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libf8img.a: $(call obj,obj,$(IMAGING_SRC))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@
$(BUILD)/asan/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@
$(call asm_obj,obj,daemon/src/http/demo_page.S) $(call asm_obj,asan,daemon/src/http/demo_page.S): \
    daemon/src/http/demo.html

$(BUILD)/libf8d.a: $(call obj,obj,$(DAEMON_SRC)) $(call asm_obj,obj,$(DAEMON_ASM))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/f8: $(call obj,obj,$(CLI_SRC)) $(BUILD)/libf8img.a $(BUILD)/libf8.a
	$(CC) -o $@ $^ $(LIBS_CLI)

$(BUILD)/f8d: $(BUILD)/obj/daemon/main.o $(BUILD)/libf8d.a $(BUILD)/libf8img.a $(BUILD)/libf8.a
	$(CC) -o $@ $^ $(LIBS_DAEMON)

# ---- sanitizer build (tests) --------------------------------------------------------
$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ASAN) $(INCLUDES) $(ISA_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/libf8.a: $(call obj,asan,$(ENGINE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/libf8img.a: $(call obj,asan,$(IMAGING_SRC))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/libf8d.a: $(call obj,asan,$(DAEMON_SRC)) $(call asm_obj,asan,$(DAEMON_ASM))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/f8: $(call obj,asan,$(CLI_SRC)) $(BUILD)/asan/libf8img.a $(BUILD)/asan/libf8.a
	$(CC) $(LDFLAGS_ASAN) -o $@ $^ $(LIBS_CLI)

$(BUILD)/asan/f8d: $(BUILD)/asan/daemon/main.o $(BUILD)/asan/libf8d.a \
                   $(BUILD)/asan/libf8img.a $(BUILD)/asan/libf8.a
	$(CC) $(LDFLAGS_ASAN) -o $@ $^ $(LIBS_DAEMON)

UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRC))

$(BUILD)/asan/tests/%: $(BUILD)/asan/tests/unit/%.o $(BUILD)/asan/libf8d.a \
                       $(BUILD)/asan/libf8img.a $(BUILD)/asan/libf8.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ASAN) -o $@ $^ $(LIBS_DAEMON) -lcunit

asan: $(BUILD)/asan/f8 $(BUILD)/asan/f8d $(UNIT_BINS)

# ---- tests --------------------------------------------------------------------------
# Every C test binary runs on its own so that a crash fails one file, not the suite.
test: deps
	@$(MAKE) --no-print-directory $(BUILD_JOBS) all asan $(BUILD)/$(F8_SOFILE) man
	@$(MAKE) --no-print-directory -j1 test-c test-trainer test-integration fuzz-smoke
	@echo "make test: all tests passed"

test-c: asan
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done

test-trainer: $(BUILD)/asan/f8
	F8_BIN=$(CURDIR)/$(BUILD)/asan/f8 PYTHONPATH=$(CURDIR)/trainer \
	    $(PYTHON) -m pytest -q trainer/tests

test-integration: $(BUILD)/asan/f8d $(BUILD)/f8 $(BUILD)/f8-classify
	F8D_BIN=$(CURDIR)/$(BUILD)/asan/f8d F8_BIN=$(CURDIR)/$(BUILD)/f8 \
	    PYTHONPATH=$(CURDIR)/trainer:$(CURDIR)/tests/integration \
	    $(PYTHON) -m pytest -q tests/integration

# ---- fuzzing (libFuzzer; docs/RELIABILITY.md) ---------------------------------------
# One harness per target in fuzz/, each built with clang -fsanitize=fuzzer,address,undefined
# over the sources it exercises, compiled for it into build/fuzz/ (same include paths and ISA
# flags per part as above). `make fuzz` runs each for FUZZ_SECONDS on a copy of its seed
# corpus (fuzz/corpus/NAME/, new inputs go to build/fuzz/corpus/NAME/; fuzz/NAME.dict, if
# present, is its dictionary); a crash, leak, UB or
# timeout stops the harness, leaves the input in build/fuzz/artifacts/NAME/ and fails make.
# `make fuzz-smoke` (part of `make test`) runs each for 5 seconds.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
CFLAGS_FUZZ  := $(CSTD) $(WARN) -Wno-unknown-warning-option -O1 -g -fno-omit-frame-pointer
FUZZ_INSTR   := $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_TARGETS := fuzz_model_load fuzz_jpeg fuzz_kserve fuzz_http_front fuzz_grpc_infer \
                fuzz_content_coding
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))
# The daemon sources a harness needs (pure parsing: no MHD connection, no server).
FUZZ_DAEMON_SRC := daemon/src/http/kserve_parse.c daemon/src/http/json_scan.c daemon/src/http/base64.c \
                   daemon/src/http/http_guard.c daemon/src/http/router.c daemon/src/core/errors.c \
                   daemon/src/core/infer_spec.c daemon/src/grpc/infer_parse.c \
                   daemon/src/http/content_coding.c \
                   $(BUILD)/gen/grpc_predict_v2.pb-c.c

$(BUILD)/fuzz/engine/%.o: INCLUDES = $(INC_ENGINE)
$(BUILD)/fuzz/imaging/%.o: INCLUDES = $(INC_IMAGING)
$(BUILD)/fuzz/daemon/%.o: INCLUDES = $(INC_DAEMON)
$(BUILD)/fuzz/fuzz/fuzz_model_load.o: INCLUDES = $(INC_ENGINE)
$(BUILD)/fuzz/fuzz/fuzz_jpeg.o: INCLUDES = $(INC_IMAGING)
$(BUILD)/fuzz/fuzz/fuzz_kserve.o $(BUILD)/fuzz/fuzz/fuzz_http_front.o \
    $(BUILD)/fuzz/fuzz/fuzz_grpc_infer.o $(BUILD)/fuzz/fuzz/fuzz_content_coding.o: INCLUDES = $(INC_DAEMON)
$(call obj,fuzz,$(FUZZ_DAEMON_SRC)) $(BUILD)/fuzz/fuzz/fuzz_grpc_infer.o: | $(PROTO_H)
$(BUILD)/fuzz/%_avx512vnni.o: ISA_FLAGS = $(ISA_AVX512VNNI)
# clang 14 takes over 5 minutes to instrument the unrolled VNNI GEMM kernel with ASan (6 s
# without): the *_avx512vnni kernels are built uninstrumented here (the asan build and the
# unit tests still check them against the scalar kernels; fuzz_model_load compares paths).
$(BUILD)/fuzz/%_avx512vnni.o: FUZZ_INSTR =
$(BUILD)/fuzz/%_avx512bw.o: ISA_FLAGS = $(ISA_AVX512BW)
$(BUILD)/fuzz/%_avx2.o: ISA_FLAGS = $(ISA_AVX2)

$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_FUZZ) $(FUZZ_INSTR) $(INCLUDES) $(ISA_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/libf8.a: $(call obj,fuzz,$(ENGINE_SRC))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/libf8img.a: $(call obj,fuzz,$(IMAGING_SRC))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/libf8d.a: $(call obj,fuzz,$(FUZZ_DAEMON_SRC))
	rm -f $@ && ar rcs $@ $^

FUZZ_LINK = $(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^

$(BUILD)/fuzz/fuzz_model_load: $(BUILD)/fuzz/fuzz/fuzz_model_load.o $(BUILD)/fuzz/libf8.a
	$(FUZZ_LINK) $(LIBS_ENGINE)

$(BUILD)/fuzz/fuzz_jpeg: $(BUILD)/fuzz/fuzz/fuzz_jpeg.o $(BUILD)/fuzz/libf8img.a \
                         $(BUILD)/fuzz/libf8.a
	$(FUZZ_LINK) $(LIBS_IMAGING) $(LIBS_ENGINE)

$(BUILD)/fuzz/fuzz_kserve $(BUILD)/fuzz/fuzz_http_front $(BUILD)/fuzz/fuzz_grpc_infer \
    $(BUILD)/fuzz/fuzz_content_coding: $(BUILD)/fuzz/%: \
        $(BUILD)/fuzz/fuzz/%.o $(BUILD)/fuzz/libf8d.a
	$(FUZZ_LINK) $(LIBS_DAEMON)

fuzz-build: $(FUZZ_BINS)

# Each harness in turn, on a fresh copy of its corpus; the final stats line goes to
# build/fuzz/NAME.log (docs/RELIABILITY.md quotes them).
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    c=$${t#fuzz_}; rm -rf $(BUILD)/fuzz/corpus/$$c; mkdir -p $(BUILD)/fuzz/corpus/$$c \
	        $(BUILD)/fuzz/artifacts/$$c; cp fuzz/corpus/$$c/* $(BUILD)/fuzz/corpus/$$c/; \
	    echo "== $$t: $(FUZZ_SECONDS) s"; \
	    if ! $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	        $$(test -f fuzz/$$c.dict && echo -dict=fuzz/$$c.dict) \
	        -artifact_prefix=$(BUILD)/fuzz/artifacts/$$c/ \
	        $(BUILD)/fuzz/corpus/$$c > $(BUILD)/fuzz/$$t.log 2>&1; then \
	        tail -n 60 $(BUILD)/fuzz/$$t.log; echo "$$t: FAILED (input in $(BUILD)/fuzz/artifacts/$$c/)"; \
	        exit 1; fi; \
	    grep -E '^#[0-9]+[[:space:]]+DONE' $(BUILD)/fuzz/$$t.log || tail -n 3 $(BUILD)/fuzz/$$t.log; \
	    grep -E 'stat::number_of_executed_units' $(BUILD)/fuzz/$$t.log || true; \
	done

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# ---- model --------------------------------------------------------------------------
model: deps
	mkdir -p $(BUILD) trainer/runs
	PYTHONPATH=$(CURDIR)/trainer $(PYTHON) -m f8train fashion --out models/fashion.f8 \
	    --report models/fashion.report.json --calib-out $(BUILD)/fashion_calib.f8 \
	    --checkpoint trainer/runs/fashion.ckpt

# ResNet-18/50, MobileNet-V1/V2 (torchvision layouts, 224x224x3, 1000 classes) with random
# weights, BN folded, FLs calibrated on random images: build/zoo/NAME.f8 (about a minute).
zoo:
	PYTHONPATH=$(CURDIR)/trainer $(PYTHON) -m f8train zoo --out $(BUILD)/zoo

# ---- benchmarks (engine vs PyTorch int8; bench/RESULTS.md) ----------------------------
$(BUILD)/bench/vnni_peak: bench/vnni_peak.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 $(ISA_AVX512VNNI) -o $@ $< -lpthread

# f8-classify, the command-line client (clients/c/): HTTP with a plain socket, gRPC with
# gRPC's C core and the generated messages.
CLIENT_SRC := $(wildcard clients/c/*.c)
$(BUILD)/f8-classify: $(CLIENT_SRC) $(wildcard clients/c/*.h) $(BUILD)/gen/grpc_predict_v2.pb-c.c \
                      | $(PROTO_H)
	$(CC) $(CFLAGS_RELEASE) -Iclients/c -I$(BUILD)/gen $(PKG_CFLAGS) -o $@ \
	    $(CLIENT_SRC) $(BUILD)/gen/grpc_predict_v2.pb-c.c \
	    $(shell pkg-config --libs grpc libprotobuf-c jansson 2>/dev/null)

# The gRPC load client (bench/grpc_load.c): what wrk is for REST.
$(BUILD)/bench/grpc_load: bench/grpc_load.c clients/c/grpc_request.c \
                          $(BUILD)/gen/grpc_predict_v2.pb-c.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RELEASE) -Iclients/c -I$(BUILD)/gen $(PKG_CFLAGS) -o $@ $^ \
	    $(shell pkg-config --libs grpc libprotobuf-c 2>/dev/null)

$(BUILD)/bench/layer_bench: bench/layer_bench.c $(BUILD)/libf8.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RELEASE) $(INC_BENCH) -o $@ $^ $(LIBS_ENGINE)

bench: deps
	@./scripts/install-bench-deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/f8 $(BUILD)/bench/vnni_peak
	PYTHONPATH=$(CURDIR)/trainer $(PYTHON) bench/run_bench.py --out bench/RESULTS.md
	PYTHONPATH=$(CURDIR)/trainer $(PYTHON) bench/fgq_bench.py --out bench/RESULTS.md
	@$(MAKE) --no-print-directory bench-daemon

# f8d under wrk at 1/16/64 connections, engine alone in the same run (bench/daemon/run.py):
# its own section of bench/RESULTS.md, between the daemon-bench markers.
bench-daemon: deps
	@./scripts/install-bench-deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/f8 $(BUILD)/f8d
	PYTHONPATH=$(CURDIR)/trainer $(PYTHON) bench/daemon/run.py --f8d $(BUILD)/f8d \
	    --f8 $(BUILD)/f8 --out bench/RESULTS.md
	@$(MAKE) --no-print-directory bench-grpc

# gRPC beside REST on one f8d, interleaved rounds (bench/daemon/grpc_vs_rest.py): its own
# section of bench/RESULTS.md, between the grpc-bench markers.
bench-grpc: deps
	@./scripts/install-bench-deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/f8d $(BUILD)/bench/grpc_load
	PYTHONPATH=$(CURDIR)/trainer $(PYTHON) bench/daemon/grpc_vs_rest.py --f8d $(BUILD)/f8d \
	    --grpc-load $(BUILD)/bench/grpc_load --out bench/RESULTS.md

# The reliability soak (bench/daemon/soak.py; not part of `make test`): the release f8d under
# wrk on loopback, good and bad requests, the flood / abandoned-upload / slowloris clients
# beside them, SIGHUP every second, 10x overload, SIGTERM under load; RSS sampled. Writes
# bench/SOAK.md and bench/SOAK.json; fails when a check does (docs/RELIABILITY.md).
soak: deps
	@./scripts/install-bench-deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/f8d
	$(PYTHON) bench/daemon/soak.py --f8d $(BUILD)/f8d --out bench/SOAK.md

# ---- libf8 as a shared library (for `make install`) -----------------------------------
# The engine again, compiled position-independent into build/pic/ (the static libf8.a and the
# programs keep their own objects and flags); only the functions engine/include/f8.h declares
# are exported (a version script made from the header); the soname carries f8.h's major
# version.
F8_MAJOR := $(shell sed -n 's/^\#define F8_VERSION_MAJOR \([0-9]*\).*/\1/p' engine/include/f8.h)
F8_MINOR := $(shell sed -n 's/^\#define F8_VERSION_MINOR \([0-9]*\).*/\1/p' engine/include/f8.h)
F8_VERSION := $(F8_MAJOR).$(F8_MINOR)
F8_SONAME  := libf8.so.$(F8_MAJOR)
F8_SOFILE  := libf8.so.$(F8_VERSION)

$(BUILD)/pic/engine/%.o: INCLUDES = $(INC_ENGINE)
$(BUILD)/pic/%_avx512vnni.o: ISA_FLAGS = $(ISA_AVX512VNNI) -O3
$(BUILD)/pic/%_avx512bw.o: ISA_FLAGS = $(ISA_AVX512BW) -O3
$(BUILD)/pic/%_avx2.o: ISA_FLAGS = $(ISA_AVX2) -O3

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RELEASE) -fPIC -fno-semantic-interposition $(INCLUDES) $(ISA_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libf8.map: engine/include/f8.h
	@mkdir -p $(dir $@)
	{ echo '{ global:'; grep -oE '\bf8_[a-z0-9_]+ *\(' $< | tr -d ' (' | sort -u | \
	    sed 's/$$/;/'; echo 'local: *; };'; } > $@

$(BUILD)/$(F8_SOFILE): $(call obj,pic,$(ENGINE_SRC)) $(BUILD)/libf8.map
	$(CC) -shared -Wl,-soname,$(F8_SONAME) -Wl,--version-script=$(BUILD)/libf8.map \
	    -Wl,-z,defs -o $@ $(call obj,pic,$(ENGINE_SRC)) $(LIBS_ENGINE)

# ---- install ------------------------------------------------------------------------
# Paths follow PREFIX (DESTDIR stages them): the unit and the installed config file are made
# from systemd/f8d.service.in and config/f8d.conf with these paths, so that
# `make install PREFIX=/usr` leaves no /usr/local behind. Config files go to SYSCONFDIR
# (/etc) whatever PREFIX is (the unit reads them there); existing ones are kept.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGDATADIR ?= $(PREFIX)/share/f8serve
DOCDIR     ?= $(PREFIX)/share/doc/f8serve
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(SYSCONFDIR)/systemd/system
INSTALL_PATHS = -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
                -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
                -e 's|@PKGDATADIR@|$(PKGDATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
                -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@VERSION@|$(F8_VERSION)|g'
MAN_PAGES := f8d.8 f8d.conf.5 f8.1

# What install writes with this call's paths (no file in build/ in between: two installs with
# different PREFIXes may run at once). The shipped config gets `models` naming the installed
# models directory.
FILL_UNIT = sed $(INSTALL_PATHS) systemd/f8d.service.in
FILL_PC   = sed $(INSTALL_PATHS) pkgconfig/f8.pc.in
FILL_CONF = sed -e 's|^\# models = *$$|models = $(PKGDATADIR)/models|' config/f8d.conf

# Man pages: roff sources in man/, the settings filled in from f8d's own table.
$(BUILD)/man/%: man/%.in scripts/make-man.py $(BUILD)/f8d engine/include/f8.h
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/make-man.py --f8d $(BUILD)/f8d --header engine/include/f8.h $< $@

man: $(addprefix $(BUILD)/man/,$(MAN_PAGES))

.PHONY: man uninstall

# Config files (/etc/f8d/f8d.conf, /etc/default/f8d) are installed only where none exists:
# an edited one is never overwritten.
install: all man $(BUILD)/$(F8_SOFILE)
	install -D -m 0755 $(BUILD)/f8d $(DESTDIR)$(BINDIR)/f8d
	install -D -m 0755 $(BUILD)/f8 $(DESTDIR)$(BINDIR)/f8
	install -D -m 0755 $(BUILD)/f8-classify $(DESTDIR)$(BINDIR)/f8-classify
	install -D -m 0755 clients/f8client.py $(DESTDIR)$(BINDIR)/f8client
	install -D -m 0644 $(BUILD)/libf8.a $(DESTDIR)$(LIBDIR)/libf8.a
	install -D -m 0755 $(BUILD)/$(F8_SOFILE) $(DESTDIR)$(LIBDIR)/$(F8_SOFILE)
	ln -sf $(F8_SOFILE) $(DESTDIR)$(LIBDIR)/$(F8_SONAME)
	ln -sf $(F8_SONAME) $(DESTDIR)$(LIBDIR)/libf8.so
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	$(FILL_PC) > $(DESTDIR)$(LIBDIR)/pkgconfig/f8.pc
	install -D -m 0644 engine/include/f8.h $(DESTDIR)$(INCLUDEDIR)/f8.h
	install -d $(DESTDIR)$(PKGDATADIR)/models $(DESTDIR)$(PKGDATADIR)/proto
	install -m 0644 models/*.f8 $(DESTDIR)$(PKGDATADIR)/models/
	install -m 0644 proto/*.proto $(DESTDIR)$(PKGDATADIR)/proto/
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 0644 $(BUILD)/man/f8d.8 $(DESTDIR)$(MANDIR)/man8/f8d.8
	install -D -m 0644 $(BUILD)/man/f8d.conf.5 $(DESTDIR)$(MANDIR)/man5/f8d.conf.5
	install -D -m 0644 $(BUILD)/man/f8.1 $(DESTDIR)$(MANDIR)/man1/f8.1
	install -d $(DESTDIR)$(UNITDIR)
	$(FILL_UNIT) > $(DESTDIR)$(UNITDIR)/f8d.service
	test -e $(DESTDIR)$(SYSCONFDIR)/default/f8d || \
	    install -D -m 0644 config/f8d.env $(DESTDIR)$(SYSCONFDIR)/default/f8d
	test -e $(DESTDIR)$(SYSCONFDIR)/f8d/f8d.conf || { install -d $(DESTDIR)$(SYSCONFDIR)/f8d && \
	    $(FILL_CONF) > $(DESTDIR)$(SYSCONFDIR)/f8d/f8d.conf && \
	    grep -q '^models = ' $(DESTDIR)$(SYSCONFDIR)/f8d/f8d.conf; }
	@# the loader's cache learns libf8.so.N (not when staging into DESTDIR)
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

# Removes what install put there, and the directories it made for f8serve alone. A config
# file still as shipped is removed; one that was edited is kept (and named), as dpkg keeps a
# changed conffile: the user's settings outlive the program. Models added to the models
# directory are kept too (rmdir fails quietly on a directory that is not empty).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/f8d $(DESTDIR)$(BINDIR)/f8 $(DESTDIR)$(BINDIR)/f8-classify \
	      $(DESTDIR)$(BINDIR)/f8client
	rm -f $(DESTDIR)$(LIBDIR)/libf8.a $(DESTDIR)$(LIBDIR)/$(F8_SOFILE) \
	      $(DESTDIR)$(LIBDIR)/$(F8_SONAME) $(DESTDIR)$(LIBDIR)/libf8.so \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/f8.pc $(DESTDIR)$(INCLUDEDIR)/f8.h
	rm -f $(addprefix $(DESTDIR)$(PKGDATADIR)/models/,$(notdir $(wildcard models/*.f8)))
	rm -f $(addprefix $(DESTDIR)$(PKGDATADIR)/proto/,$(notdir $(wildcard proto/*.proto)))
	rm -f $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(MANDIR)/man8/f8d.8 \
	      $(DESTDIR)$(MANDIR)/man5/f8d.conf.5 $(DESTDIR)$(MANDIR)/man1/f8.1
	rm -f $(DESTDIR)$(UNITDIR)/f8d.service
	@f=$(DESTDIR)$(SYSCONFDIR)/f8d/f8d.conf; if [ -e "$$f" ]; then \
	    if $(FILL_CONF) | cmp -s - "$$f"; then echo "rm -f $$f"; rm -f "$$f"; \
	    else echo "uninstall: kept $$f (edited; remove it by hand)"; fi; fi
	@f=$(DESTDIR)$(SYSCONFDIR)/default/f8d; if [ -e "$$f" ]; then \
	    if cmp -s config/f8d.env "$$f"; then echo "rm -f $$f"; rm -f "$$f"; \
	    else echo "uninstall: kept $$f (edited; remove it by hand)"; fi; fi
	-rmdir $(DESTDIR)$(PKGDATADIR)/models $(DESTDIR)$(PKGDATADIR)/proto \
	       $(DESTDIR)$(PKGDATADIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/f8d 2>/dev/null

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
