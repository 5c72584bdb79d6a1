#!/bin/sh
# The sandbox demo (make demo): the connectors against the bundled fake
# GoHighLevel and Octorate APIs. Starts tests/fake_ghl on a free loopback
# port, runs etc/sandbox.ini once (a first sync), changes tags in the fake,
# runs it again (only the changes arrive), then prints the tag history and
# the alert. Then starts tests/fake_octorate and runs
# etc/examples/octorate-two-way.ini: reservations become GHL contacts with
# tags and opportunities, a GHL tag reaches its reservation, and nothing
# bounces back. Stops the fakes. Run from the build directory:
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
octo_pid=
trap 'kill $fake_pid $octo_pid 2>/dev/null; wait $fake_pid $octo_pid 2>/dev/null' EXIT
# wait_port NAME PID WHAT: waits for the fake's PORT= line in NAME.out.
wait_port() {
	i=0
	until grep -q '^PORT=' "$HLB_SANDBOX_DIR/$1.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$2" 2>/dev/null; then
			echo "sandbox: the fake $3 API did not start:" >&2
			cat "$HLB_SANDBOX_DIR/$1.err" >&2
			exit 1
		fi
		sleep 0.05
	done
}
wait_port fake "$fake_pid" GHL
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

echo "== Octorate: a fake property with 3 reservations; authorize the app (hlbridge auth login)" >&2
./tests/fake_octorate --reservations 3 --max-seconds 600 >"$HLB_SANDBOX_DIR/octo.out" 2>"$HLB_SANDBOX_DIR/octo.err" &
octo_pid=$!
wait_port octo "$octo_pid" Octorate
two_way="$srcdir/etc/examples/octorate-two-way.ini"
export OCTORATE_BASE_URL="http://127.0.0.1:$(sed -n 's/^PORT=//p' "$HLB_SANDBOX_DIR/octo.out")"
export OCTORATE_CLIENT_ID=octo-client OCTORATE_CLIENT_SECRET=octo-secret OCTORATE_ACCOMMODATION=100001
export OCTORATE_LOOKBACK=1000d # the fake's bookings were made in June 2026
export OCTORATE_REDIRECT_URI="http://127.0.0.1:$((20000 + $$ % 10000))/octorate"
export GHL_TOKEN="$HLB_SANDBOX_TOKEN" GHL_BASE_URL="$HLB_SANDBOX_URL" GHL_LOCATION_ID=loc00000000000000001
export GHL_PIPELINE_ID=pipeline000000000001 GHL_STAGE_WAITING=stage0000000000001
export GHL_STAGE_CONFIRMED=stage1000000000001 GHL_STAGE_CANCELLED=stage2000000000001
export HLB_DATA_DIR="$HLB_SANDBOX_DIR/two-way"
mkdir -p "$HLB_DATA_DIR"
./hlbridge auth login hotel -c "$two_way" --plugin-dir plugins/.libs >"$HLB_SANDBOX_DIR/login.out" 2>&2 &
login_pid=$!
i=0
until grep -q '^http' "$HLB_SANDBOX_DIR/login.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 200 ] && kill -0 "$login_pid" 2>/dev/null || { echo "sandbox: auth login failed" >&2; exit 1; }
	sleep 0.05
done
state=$(grep '^http' "$HLB_SANDBOX_DIR/login.out" | sed -n 's/.*[?&]state=\([^&]*\).*/\1/p')
# the browser's part: the property owner approved, Octorate redirects back
curl -s -o /dev/null "$OCTORATE_REDIRECT_URI?code=code-sandbox&state=$state"
wait "$login_pid" || exit 1
two_way() {
	./hlbridge run -c "$two_way" --once --plugin-dir plugins/.libs
}
echo "== two-way sync: each reservation becomes a GHL contact, tagged octorate:<status>, with an opportunity" >&2
two_way || exit 1
./hlbridge links -c "$two_way" --plugin-dir plugins/.libs >&2
contact=$(./hlbridge links -c "$two_way" --plugin-dir plugins/.libs | sed -n 's/^ghl:[^:]*:contact:\([^ ]*\) .*/\1/p' | head -1)
reservation=$(./hlbridge links -c "$two_way" --plugin-dir plugins/.libs | sed -n 's/.*octorate:100001:reservation:\([0-9]*\) .*/\1/p' | head -1)
echo "== in GHL, a user tags contact $contact 'vip'; in Octorate, the hotel cancels another booking" >&2
curl -s -o /dev/null -X POST "$HLB_SANDBOX_URL/_control" \
	-d "{\"op\":\"contact_set\",\"location\":\"$GHL_LOCATION_ID\",\"id\":\"$contact\",\"fields\":{\"tags\":[\"octorate:confirmed\",\"vip\"]}}"
curl -s -o /dev/null -X POST "$OCTORATE_BASE_URL/_control" -d '{"op":"reservation_set","id":92180003,"fields":{"status":"CANCELLED"}}'
two_way || exit 1
echo "== reservation $reservation in Octorate now carries the contact's tags (metaData ghl_tags):" >&2
echo "  ghl_tags = $(curl -s -X POST "$OCTORATE_BASE_URL/_control" -d "{\"op\":\"reservation_get\",\"id\":$reservation}" |
	jq -r '.reservation.metaData[] | select(.metaKey == "ghl_tags") | .value')" >&2
echo "== a third run: hlbridge's own writes are not carried back (no ping-pong)" >&2
two_way || exit 1
