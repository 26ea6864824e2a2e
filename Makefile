# strap: make | make test | make test-gpu | make bench | make demo | make demo-pretrain | make demo-verify
#
# Options:
#   CUDA=0     skip the CUDA backend even when nvcc is found (default: build it if found)
#   BLAS=0     use the built-in C sgemm instead of OpenBLAS
#   OMP=0      build without OpenMP
#   DEBUG=1    -O0 -g with AddressSanitizer
#   DEPS=dir   headers and static libraries unpacked from Debian packages (scripts/get-deps.sh)
#   MPI=0      a single-rank strap without OpenMPI (default: OpenMPI required, for mpirun / srun)
#   NCCL=0     CUDA builds without NCCL (default: NCCL's GPU collectives when nccl.h is found)
#   NCCL_HOME=dir  where NCCL is when not in CUDA_HOME or /usr: dir/include/nccl.h and
#              dir/lib/libnccl.so(.2), e.g. the nvidia-nccl wheel's site-packages/nvidia/nccl

CC      ?= cc
comma   := ,
CFLAGS  ?= -O3 -march=native
CFLAGS  += -std=c11 -Wall -Wextra -Wno-missing-field-initializers -Werror -D_GNU_SOURCE -MMD -MP
LDLIBS  := -lzstd -ljansson -lpcre2-8 -lutf8proc -lm
BUILD   := build

ifeq ($(DEBUG),1)
  CFLAGS := $(filter-out -O3 -march=native,$(CFLAGS)) -O0 -g -fsanitize=address,undefined
  LDFLAGS += -fsanitize=address,undefined
endif
# FUZZ=1 (used by make fuzz, with CC=clang): the library instrumented for libFuzzer, fail()
# returning to the fuzz harness (base/check.h)
ifeq ($(FUZZ),1)
  CFLAGS := $(filter-out -O3 -march=native,$(CFLAGS)) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -DSTRAP_FUZZ
endif

ifneq ($(OMP),0)
  CFLAGS += -fopenmp
  LDFLAGS += -fopenmp
else
  CFLAGS += -Wno-unknown-pragmas
endif

# OpenBLAS: the OpenMP build (libopenblas-openmp-dev) shares strap's OpenMP thread pool;
# the pthread build works too but its threads and OpenMP's spin against each other.
OPENBLAS_DIR ?= $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-pthread))
OPENBLAS_INC ?= $(subst /lib/,/include/,$(OPENBLAS_DIR))
ifneq ($(BLAS),0)
  CFLAGS += -DSTRAP_BLAS $(if $(OPENBLAS_INC),-I$(OPENBLAS_INC))
  ifneq ($(OPENBLAS_DIR),)
    LDFLAGS += -L$(OPENBLAS_DIR) -Wl,-rpath,$(OPENBLAS_DIR)
  endif
  LDLIBS += -lopenblas
endif

# DEPS=dir: headers and static archives unpacked by scripts/get-deps.sh, linked by path so
# that no -dev package (nor its shared library) is needed on the build machine
ifneq ($(DEPS),)
  DEPS_LIB := $(DEPS)/usr/lib/x86_64-linux-gnu
  CFLAGS := -I$(DEPS)/usr/include -I$(DEPS)/usr/include/x86_64-linux-gnu $(CFLAGS)
  LDLIBS := $(DEPS_LIB)/libzstd.a $(DEPS_LIB)/libjansson.a $(DEPS_LIB)/libpcre2-8.a $(DEPS_LIB)/libutf8proc.a \
            $(filter-out -lzstd -ljansson -lpcre2-8 -lutf8proc,$(LDLIBS))
endif

# ---- MPI: multi-process training (mpirun / srun). Required unless MPI=0 ----
ifneq ($(MPI),0)
  MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c 2>/dev/null)
  MPI_LIBS := $(shell mpicc --showme:link 2>/dev/null || pkg-config --libs ompi-c 2>/dev/null)
  ifeq ($(strip $(MPI_LIBS)),)
    ifeq ($(filter clean print-%,$(MAKECMDGOALS)),)
      $(error OpenMPI not found (no mpicc, no pkg-config ompi-c): install it with `apt-get install openmpi-bin libopenmpi-dev` (or bash scripts/setup.sh), or build a single-rank strap with `make MPI=0`)
    endif
  endif
  CFLAGS += -DSTRAP_MPI $(MPI_CFLAGS)
  LDLIBS += $(MPI_LIBS)
endif

# ---- CUDA (optional) ----
CUDA_HOME ?= /usr/local/cuda
NVCC := $(shell command -v nvcc 2>/dev/null || { test -x $(CUDA_HOME)/bin/nvcc && echo $(CUDA_HOME)/bin/nvcc; })
ifeq ($(CUDA),0)
  NVCC :=
endif
CU_SRC := $(wildcard kernels/cuda/*.cu)
ifneq ($(NVCC),)
ifneq ($(CU_SRC),)
  CUDA_ARCHS ?= -gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90a,code=sm_90a
  NVCCFLAGS ?= -O3 -std=c++17 $(CUDA_ARCHS) -Xcompiler -Wall,-Wextra -Werror all-warnings -lineinfo -MMD -MP
  CFLAGS += -DSTRAP_CUDA
  LDFLAGS += -L$(CUDA_HOME)/lib64 -L$(CUDA_HOME)/lib64/stubs
  LDLIBS += -lcublasLt -lcublas -lcudart -lstdc++
  # NCCL: GPU collectives for multi-GPU training (kernels/cuda/comm_nccl.cu)
  NCCL_H := $(if $(filter 0,$(NCCL)),,$(firstword $(wildcard $(if $(NCCL_HOME),$(NCCL_HOME)/include/nccl.h) \
                                                        $(CUDA_HOME)/include/nccl.h /usr/include/nccl.h)))
  NCCL_LIB := $(firstword $(wildcard $(if $(NCCL_HOME),$(NCCL_HOME)/lib/libnccl.so $(NCCL_HOME)/lib/libnccl.so.2) \
                                     $(CUDA_HOME)/lib64/libnccl.so $(CUDA_HOME)/lib/libnccl.so \
                                     /usr/lib/x86_64-linux-gnu/libnccl.so))
  ifeq ($(NCCL_LIB),)
    NCCL_H := # the header without the library: no NCCL
  endif
  ifneq ($(NCCL_H),)
    CFLAGS += -DSTRAP_NCCL
    NVCCFLAGS += -I$(dir $(NCCL_H))
    LDFLAGS += -Wl$(comma)-rpath$(comma)$(dir $(NCCL_LIB))
    LDLIBS := $(NCCL_LIB) $(LDLIBS) # by path: a wheel has libnccl.so.2 only
  else
    CU_SRC := $(filter-out kernels/cuda/comm_nccl.cu,$(CU_SRC))
  endif
  CU_OBJ := $(CU_SRC:%.cu=$(BUILD)/%.o)
endif
endif

CORE_SRC := $(wildcard base/*.c dist/*.c selfplay/*.c loop/*.c bench/*.c kernels/*.c kernels/cpu/*.c model/*.c data/*.c train/*.c eval/*.c)
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o) $(CU_OBJ)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

# Every object depends on the flags it was compiled with (the version defines below left
# out): switching CUDA=0, BLAS=0, MPI=0, NCCL=0, DEBUG=1 or DEPS=... in one BUILD directory
# recompiles everything instead of linking objects built for another configuration.
BUILD_FLAGS := $(CC) $(CFLAGS) | $(NVCC) $(NVCCFLAGS)
FLAGS_STAMP := $(BUILD)/compile-flags
ifneq ($(file <$(FLAGS_STAMP)),$(BUILD_FLAGS))
  $(shell mkdir -p $(BUILD))
  $(file >$(FLAGS_STAMP),$(BUILD_FLAGS))
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CFLAGS += -DSTRAP_VERSION='"$(VERSION)"' -DSTRAP_GIT_REV='"$(GIT_REV)"'

STRAP_BIN ?= strap

.PHONY: all test test-bins test-gpu bench demo demo-pretrain demo-verify fuzz clean
all: $(STRAP_BIN)

$(STRAP_BIN): $(CLI_OBJ) $(BUILD)/libstrap.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libstrap.a $(LDLIBS)

$(BUILD)/libstrap.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cu $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/libstrap.a $(wildcard tests/*.h) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstrap.a $(LDLIBS)

# test_flags parses the loop's command lines with the command line parser (cli/args.c)
$(BUILD)/tests/test_flags: tests/test_flags.c $(BUILD)/cli/args.o $(BUILD)/libstrap.a $(wildcard tests/*.h) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/cli/args.o $(BUILD)/libstrap.a $(LDLIBS)

test: strap $(TEST_BIN)
	bash tests/run.sh

# the C test binaries alone (e.g. make BUILD=build-asan DEBUG=1 test-bins)
test-bins: $(TEST_BIN)

test-gpu: strap
	bash tests/gpu/run.sh

bench: strap
	bash bench/run.sh

demo: strap
	bash scripts/demo.sh

demo-pretrain: strap
	bash scripts/demo_pretrain.sh

demo-verify: strap
	bash scripts/demo_verify.sh

# ---- fuzzing (clang + libFuzzer): every reader of outside data, tests/fuzz/*.c ----
# make fuzz                      each target for FUZZ_SECONDS (default 20), seeds from the fixtures
# make fuzz FUZZ_RUNS=20000      each target for 20000 inputs from a fixed seed (repeatable; CI)
# make fuzz FUZZ_SECONDS=3600    the long run (docs/testing.md); corpora grow in build-fuzz/corpus/
FUZZ_SECONDS ?= 20
FUZZ_RUNS ?= 0
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz: strap
	$(MAKE) BUILD=build-fuzz CC=clang CUDA=0 MPI=0 OMP=0 BLAS=0 FUZZ=1 build-fuzz/libstrap.a
	@for t in $(FUZZ_TARGETS); do \
	    echo "clang $(FUZZ_FLAGS) -o build-fuzz/$$t tests/fuzz/$$t.c"; \
	    clang $(FUZZ_FLAGS) -DSTRAP_FUZZ -o build-fuzz/$$t tests/fuzz/$$t.c build-fuzz/libstrap.a \
	        -lzstd -ljansson -lpcre2-8 -lutf8proc -lm || exit 1; \
	done
	FUZZ_RUNS=$(FUZZ_RUNS) bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) strap build-fuzz

-include $(CORE_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(CU_OBJ:.o=.d)

# `make -s print-CFLAGS` etc.: lets scripts build extra binaries with the same flags
print-%:
	@echo '$($*)'
