#!/bin/sh
# The sandbox demo (make demo): the GHL connectors against the bundled fake
# GoHighLevel API. Starts tests/fake_ghl on a free loopback port, runs
# etc/sandbox.ini once (a first sync), changes tags in the fake, runs it
# again (only the changes arrive), then prints the tag history and the
# alert, and stops the fake. Run from the build directory:
#   sh etc/sandbox.sh [SRCDIR]
set -u
srcdir=${1:-.}
fake=./tests/fake_ghl
if [ ! -x "$fake" ]; then
	echo "sandbox: $fake is missing: it needs libmicrohttpd (apt-get install libmicrohttpd-dev, then" \
		"./configure && make)" >&2
	exit 1
fi
HLB_SANDBOX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hlbridge-sandbox.XXXXXX")
HLB_SANDBOX_TOKEN="pit-sandbox-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export HLB_SANDBOX_DIR HLB_SANDBOX_TOKEN
"$fake" --locations 2 --tags 5 --pit "$HLB_SANDBOX_TOKEN" --max-seconds 600 \
	>"$HLB_SANDBOX_DIR/fake.out" 2>"$HLB_SANDBOX_DIR/fake.err" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null' EXIT
i=0
until grep -q '^PORT=' "$HLB_SANDBOX_DIR/fake.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$fake_pid" 2>/dev/null; then
		echo "sandbox: the fake GHL API did not start:" >&2
		cat "$HLB_SANDBOX_DIR/fake.err" >&2
		exit 1
	fi
	sleep 0.05
done
HLB_SANDBOX_URL="http://127.0.0.1:$(sed -n 's/^PORT=//p' "$HLB_SANDBOX_DIR/fake.out")"
export HLB_SANDBOX_URL
run() {
	./hlbridge run -c "$srcdir/etc/sandbox.ini" --once --plugin-dir plugins/.libs
}
control() {
	curl -s -X POST "$HLB_SANDBOX_URL/_control" -H 'Content-Type: application/json' -d "$1" |
		sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p'
}

echo "== first sync: every tag of both locations, and the statistics" >&2
run || exit 1
echo "== in the fake: 3 tags added, one renamed, one deleted; second sync: only the changes" >&2
first_tag() {
	curl -s "$HLB_SANDBOX_URL/social-media-posting/$1/tags?limit=1" \
		-H "Authorization: Bearer $HLB_SANDBOX_TOKEN" -H "Version: 2021-07-28" |
		sed -n 's/.*"_id":"\([0-9a-f]*\)".*/\1/p'
}
control '{"op":"tag_add","location":0,"name":"Spa weekend"}' >/dev/null
control '{"op":"tag_add","location":0,"name":"Late checkout"}' >/dev/null
control '{"op":"tag_add","location":0,"name":"Honeymoon"}' >/dev/null
control "{\"op\":\"tag_rename\",\"location\":0,\"id\":\"$(first_tag loc00000000000000001)\",\"name\":\"VIP guest\"}" \
	>/dev/null
control "{\"op\":\"tag_delete\",\"location\":1,\"id\":\"$(first_tag loc00000000000000002)\"}" >/dev/null
run || exit 1
echo "== tag history (hlbridge history):" >&2
./hlbridge history -c "$srcdir/etc/sandbox.ini" --plugin-dir plugins/.libs >&2
echo "== alerts (more than 3 new tags in a location within an hour):" >&2
cat "$HLB_SANDBOX_DIR/alerts.jsonl" >&2
echo "== the dashboard database: $HLB_SANDBOX_DIR/dashboard.db (tables tags, stats)" >&2
