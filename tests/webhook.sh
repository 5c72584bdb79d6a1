# Shell helpers for tests that send GHL webhooks (POSIX sh; source it after
# tests/tap.sh). They use the openssl CLI and curl.
#
#   wh_keys DIR                  DIR/ed25519.pem, DIR/rsa.pem (private) and
#                                DIR/ed25519.pub.pem, DIR/rsa.pub.pem; prints
#                                nothing (openssl's messages on failure)
#   wh_sign_ed25519 PRIV FILE    the base64 Ed25519 signature of FILE's bytes
#                                (what GHL sends as X-GHL-Signature)
#   wh_sign_rsa PRIV FILE        the base64 RSA-SHA256 PKCS#1 v1.5 signature
#                                (GHL's legacy X-WH-Signature)
#   wh_ghl_event TYPE ID LOC [EXTRA]
#                                a GHL event body: type, locationId, id,
#                                webhookId (a fresh UUID, or $WH_ID), timestamp
#                                (now, ISO 8601 UTC with milliseconds, or
#                                $WH_TS), then EXTRA, more JSON members
#                                ('"tags":["vip"],"email":"a@b.c"')
#   wh_post URL FILE [HEADER...] POSTs FILE as application/json with the
#                                headers ('X-GHL-Signature: ...') and prints
#                                the HTTP status only (000: no answer)
#
# Signatures are over the exact bytes of the file: write the body once and
# sign and post that same file.

wh_keys() {
	mkdir -p "$1" || return 1
	# openssl writes progress and errors to stderr: shown only on failure
	if ! {
		openssl genpkey -algorithm ed25519 -out "$1/ed25519.pem" &&
		openssl pkey -in "$1/ed25519.pem" -pubout -out "$1/ed25519.pub.pem" &&
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1/rsa.pem" &&
		openssl pkey -in "$1/rsa.pem" -pubout -out "$1/rsa.pub.pem"
	} >"$1/.openssl.log" 2>&1; then
		cat "$1/.openssl.log" >&2
		return 1
	fi
	rm -f "$1/.openssl.log"
}

# openssl base64 -A: one line, no wrapping; the newline it may end with is
# stripped, one is printed.
wh__b64() {
	openssl base64 -A | tr -d '\n' && echo
}

wh_sign_ed25519() {
	# -rawin: Ed25519 signs the message itself, not a digest
	openssl pkeyutl -sign -rawin -inkey "$1" -in "$2" | wh__b64
}

wh_sign_rsa() {
	openssl dgst -sha256 -sign "$1" "$2" | wh__b64
}

# A random version 4 UUID, like GHL's webhookIds.
wh__uuid() {
	if [ -r /proc/sys/kernel/random/uuid ]; then
		cat /proc/sys/kernel/random/uuid
	else
		od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
			sed 's/^\(........\)\(....\).\(...\).\(...\)\(............\)$/\1-\2-4\3-a\4-\5/'
	fi
}

wh__now() {
	# GNU date has milliseconds; another date gets .000
	date -u +%Y-%m-%dT%H:%M:%S.%3NZ 2>/dev/null | grep -v N || date -u +%Y-%m-%dT%H:%M:%S.000Z
}

wh_ghl_event() {
	printf '{"type":"%s","locationId":"%s","id":"%s","webhookId":"%s","timestamp":"%s"%s%s}\n' \
		"$1" "$3" "$2" "${WH_ID:-$(wh__uuid)}" "${WH_TS:-$(wh__now)}" "${4:+,}" "${4:-}"
}

wh_post() {
	_wh_url=$1
	_wh_file=$2
	shift 2
	# Headers are passed as separate -H arguments: rebuild the positional
	# parameters rather than quote through eval.
	for _wh_h in "$@"; do
		set -- "$@" -H "$_wh_h"
		shift
	done
	curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		--data-binary "@$_wh_file" "$@" "$_wh_url"
}
