#!/bin/sh
# Runs a test program, under $HLB_WRAP (valgrind) when it is set.
exec ${HLB_WRAP:-} "$@"
