/* Webhook signature keys and checks (OpenSSL libcrypto): GHL signs the raw
 * body with Ed25519 (X-GHL-Signature) and, on its legacy path, with
 * RSA-SHA256 PKCS#1 v1.5 (X-WH-Signature), both base64. A keyring holds
 * several public keys of one kind, so that a key rotation needs no
 * downtime: a signature is good when any key verifies it. */
#ifndef HC_WEBHOOK_SIG_H
#define HC_WEBHOOK_SIG_H

#include <stddef.h>

typedef enum { HC_KEY_ED25519 = 0, HC_KEY_RSA = 1 } hc_key_kind;

/* The Ed25519 key GHL publishes (base64 SPKI), the default of
 * [service] ghl_webhook_key. */
extern const char hc_ghl_published_key[];

typedef struct hc_keyring hc_keyring;

hc_keyring *hc_keyring_new(hc_key_kind kind);
void hc_keyring_free(hc_keyring *r);
/* Adds one key: `spec` is a PEM file name (a public key or certificate),
 * or base64 of the DER SubjectPublicKeyInfo. A key of the other kind is
 * refused. 0, or -1 with err naming the file or what is wrong. */
int hc_keyring_add(hc_keyring *r, const char *spec, char *err, size_t errlen);
size_t hc_keyring_count(const hc_keyring *r);

typedef enum {
	HC_SIG_OK = 0,         /* a key verified it */
	HC_SIG_BAD = 1,        /* well-formed, no key verifies it */
	HC_SIG_MALFORMED = 2   /* not base64, or not a signature's length */
} hc_sig_result;

/* Checks a base64 signature over exactly body[0..len). */
hc_sig_result hc_sig_verify(const hc_keyring *r, const void *body, size_t len, const char *sig_b64);

#endif
