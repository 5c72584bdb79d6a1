# TAP helpers for the shell tests: ok, fail, skip, and a plan at the end.
# Usage: . "$top_srcdir/tests/tap.sh"; t_ok "name" command...; t_done
t_n=0
t_failed=0
t_ok() {
	name=$1; shift
	t_n=$((t_n + 1))
	if "$@" >"$T_TMP/out.$t_n" 2>&1; then
		echo "ok $t_n - $name"
	else
		echo "not ok $t_n - $name"
		sed 's/^/# /' "$T_TMP/out.$t_n" | head -40
		t_failed=$((t_failed + 1))
	fi
}
t_skip() {
	t_n=$((t_n + 1))
	echo "ok $t_n - $1 # SKIP $2"
}
t_done() {
	echo "1..$t_n"
	[ "$t_failed" -eq 0 ]
}
# Runs hlbridge (under $HLB_WRAP, valgrind, when set).
hlb() {
	${HLB_WRAP:-} "$HLBRIDGE" "$@"
}
# The same in the background, so that $! is hlbridge itself (a function
# sent to the background is a subshell: killing it would leave hlbridge).
hlb_bg() {
	${HLB_WRAP:-} "$HLBRIDGE" "$@" &
}
# free_port [N]: a loopback TCP port nobody listens on, bound and released
# through the kernel (for listeners whose port must be known in advance,
# like an OAuth redirect_uri or a Prism proxy). Without python3, a port
# below the kernel's ephemeral range, offset by N to keep several apart.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
		2>/dev/null || echo $((20000 + ($$ + ${1:-0}) % 12000))
}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hlbtest.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT
