# Shared build settings for the C programs; included by each program's
# Makefile after it sets PROG and SRCS.
#   make                 -> $(BIN)/$(PROG)
#   make SANITIZE=1      -> built with ASan and UBSan
#   make BIN=/some/dir   -> binary placed there
COMMON := $(dir $(lastword $(MAKEFILE_LIST)))
include $(COMMON)bin.mk
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I$(COMMON)
LDLIBS += -lm
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# COMMON_SRCS: the shared files a program needs beyond these (server.c for
# the C servers, signals.c for the programs that stop on SIGTERM).
ALL_SRCS := $(SRCS) $(COMMON)errors.c $(COMMON)parse.c $(COMMON)files.c $(COMMON)json.c \
            $(addprefix $(COMMON),$(COMMON_SRCS))

$(BIN_TARGET)/$(PROG): $(ALL_SRCS) $(wildcard *.h) $(wildcard $(COMMON)*.h)
	mkdir -p "$(BIN)"
	$(CC) $(CFLAGS) $(LDFLAGS) -o "$@" $(ALL_SRCS) $(LDLIBS)

.PHONY: clean
clean:
	rm -f "$(BIN)/$(PROG)"
