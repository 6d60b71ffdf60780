#!/bin/sh
# TAP wrapper: `prove spec/lua/busted.t` runs every spec/lua/*_spec.lua.
# The busted script starts with `#!/usr/bin/env lua`, i.e. whatever Lua the
# `lua` alternative points to; run it with lua5.4 explicitly instead.  (Its
# own --lua=lua5.4 re-exec does not quote its arguments, so the ';' in
# --lpath would be eaten by the shell.)
cd "$(dirname "$0")/../.." || exit 1
exec lua5.4 "$(command -v busted)" --lpath='lua/?.lua;lua/?/init.lua' -o TAP spec/lua
