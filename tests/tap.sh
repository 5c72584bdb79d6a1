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
# start_server NAME PROGRAM [ARG...]: starts a fake server that prints
# PORT=<n> first, waits for that line (10 s at most), and sets NAME_port and
# NAME_pid; the server's stdout and stderr go to $T_TMP/NAME.out and .err.
# It is stopped (SIGTERM) when the test exits. Returns 1, with its stderr,
# when it did not start.
t_servers=""
start_server() {
	_name=$1; shift
	"$@" >"$T_TMP/$_name.out" 2>"$T_TMP/$_name.err" &
	_pid=$!
	t_servers="$t_servers $_pid"
	trap 'for _p in $t_servers; do kill -TERM $_p 2>/dev/null; wait $_p 2>/dev/null; done; rm -rf "$T_TMP"' EXIT
	_i=0
	until grep -q '^PORT=' "$T_TMP/$_name.out" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ] || ! kill -0 $_pid 2>/dev/null; then
			cat "$T_TMP/$_name.err" >&2
			return 1
		fi
		sleep 0.05
	done
	eval "${_name}_pid=\$_pid ${_name}_port=\$(sed -n 's/^PORT=//p' \"\$T_TMP/\$_name.out\")"
}
# auth_login NAME CONFIG REDIRECT_URI CODE: `hlbridge auth login NAME`,
# playing the browser: waits for the approval URL, then calls the loopback
# redirect with CODE and the URL's state. Returns the login's status; its
# output is in $T_TMP/login.out and .err.
auth_login() {
	hlb_bg auth login "$1" -c "$2" --plugin-dir "$PLUGIN_DIR" >"$T_TMP/login.out" 2>"$T_TMP/login.err"
	_pid=$!
	_i=0
	until grep -q '^http' "$T_TMP/login.out" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 300 ] || ! kill -0 $_pid 2>/dev/null; then
			cat "$T_TMP/login.out" "$T_TMP/login.err"
			kill $_pid 2>/dev/null
			return 1
		fi
		sleep 0.05
	done
	_state=$(grep '^http' "$T_TMP/login.out" | head -1 | sed -n 's/.*[?&]state=\([^&]*\).*/\1/p')
	curl -s -o /dev/null "$3?code=$4&state=$_state"
	wait $_pid
}
