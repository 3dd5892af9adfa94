# Where the built programs go: BIN, the build/bin folder of the checkout
# unless given. Its path may hold spaces (a checkout under "My Projects"):
# make splits target names on spaces unless they are escaped, so rules
# name their target $(BIN_TARGET)/... and quote "$(BIN)" in recipes.
BIN ?= $(dir $(lastword $(MAKEFILE_LIST)))../build/bin
space := $(subst ,, )
BIN_TARGET := $(subst $(space),\ ,$(BIN))
