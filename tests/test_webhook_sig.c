/* Unit tests of webhook signature checks (core/webhook_sig.c): keys made
 * here with libcrypto, given as PEM files and as base64 SPKI, bodies signed
 * here, and the checks' three answers (good, bad, malformed). */
#include "check_main.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webhook_sig.h"

static const char body[] = "{\"type\":\"ContactTagUpdate\",\"locationId\":\"loc-1\",\"id\":\"c-1\",\"tags\":[\"vip\"]}";

struct key {
	EVP_PKEY *k;
	char pem[64];    /* the public key's PEM file */
	char *b64;       /* base64 DER SPKI */
};

static struct key ed1, ed2, rsa1, rsa2;
static hc_keyring *ring;
static char err[256];

static void make_key(struct key *key, int type)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(type, NULL);
	unsigned char *der = NULL;
	int n, fd;
	FILE *f;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
	if (type == EVP_PKEY_RSA)
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
	key->k = NULL;
	ck_assert_int_eq(EVP_PKEY_keygen(ctx, &key->k), 1);
	EVP_PKEY_CTX_free(ctx);

	strcpy(key->pem, "/tmp/test_webhook_sig.XXXXXX");
	fd = mkstemp(key->pem);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PUBKEY(f, key->k), 1);
	fclose(f);

	n = i2d_PUBKEY(key->k, &der);
	ck_assert_int_gt(n, 0);
	key->b64 = malloc((size_t)(n + 2) / 3 * 4 + 1);
	ck_assert_ptr_nonnull(key->b64);
	EVP_EncodeBlock((unsigned char *)key->b64, der, n);
	OPENSSL_free(der);
}

static void free_key(struct key *key)
{
	unlink(key->pem);
	free(key->b64);
	EVP_PKEY_free(key->k);
}

/* The base64 signature of msg[0..len) by key (free it). */
static char *sign(const struct key *key, const void *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ed = EVP_PKEY_base_id(key->k) == EVP_PKEY_ED25519;
	unsigned char sig[1024];
	size_t slen = sizeof(sig);
	char *b64;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, ed ? NULL : EVP_sha256(), NULL, key->k), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &slen, msg, len), 1);
	EVP_MD_CTX_free(ctx);
	b64 = malloc((slen + 2) / 3 * 4 + 1);
	ck_assert_ptr_nonnull(b64);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)slen);
	return b64;
}

static void setup_keys(void)
{
	make_key(&ed1, EVP_PKEY_ED25519);
	make_key(&ed2, EVP_PKEY_ED25519);
	make_key(&rsa1, EVP_PKEY_RSA);
	make_key(&rsa2, EVP_PKEY_RSA);
}

static void teardown_keys(void)
{
	free_key(&ed1);
	free_key(&ed2);
	free_key(&rsa1);
	free_key(&rsa2);
}

static void teardown_ring(void)
{
	hc_keyring_free(ring);
	ring = NULL;
}

static hc_keyring *ring_of(hc_key_kind kind, const char *spec)
{
	hc_keyring *r = hc_keyring_new(kind);

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(hc_keyring_add(r, spec, err, sizeof(err)) == 0, "%s: %s", spec, err);
	return r;
}

static hc_sig_result verify(const hc_keyring *r, const char *msg, const char *sig)
{
	return hc_sig_verify(r, msg, strlen(msg), sig);
}

static void check_good_and_tampered(const struct key *key, hc_key_kind kind, const char *spec)
{
	char *sig = sign(key, body, strlen(body));
	char tampered[sizeof(body)];

	ring = ring_of(kind, spec);
	ck_assert_uint_eq(hc_keyring_count(ring), 1);
	ck_assert_int_eq(verify(ring, body, sig), HC_SIG_OK);
	memcpy(tampered, body, sizeof(body));
	tampered[10] ^= 1;
	ck_assert_int_eq(verify(ring, tampered, sig), HC_SIG_BAD);
	/* a prefix of the body signed is not the body */
	ck_assert_int_eq(hc_sig_verify(ring, body, strlen(body) - 1, sig), HC_SIG_BAD);
	free(sig);
}

START_TEST(test_ed25519_pem)
{
	check_good_and_tampered(&ed1, HC_KEY_ED25519, ed1.pem);
}
END_TEST

START_TEST(test_ed25519_base64)
{
	check_good_and_tampered(&ed1, HC_KEY_ED25519, ed1.b64);
}
END_TEST

START_TEST(test_rsa_pem)
{
	check_good_and_tampered(&rsa1, HC_KEY_RSA, rsa1.pem);
}
END_TEST

START_TEST(test_rsa_base64)
{
	check_good_and_tampered(&rsa1, HC_KEY_RSA, rsa1.b64);
}
END_TEST

START_TEST(test_empty_body)
{
	char *sig = sign(&ed1, "", 0);

	ring = ring_of(HC_KEY_ED25519, ed1.pem);
	ck_assert_int_eq(hc_sig_verify(ring, NULL, 0, sig), HC_SIG_OK);
	ck_assert_int_eq(hc_sig_verify(ring, "x", 1, sig), HC_SIG_BAD);
	free(sig);
}
END_TEST

START_TEST(test_wrong_key)
{
	char *sig = sign(&ed2, body, strlen(body));
	char *rsig = sign(&rsa2, body, strlen(body));
	hc_keyring *r = ring_of(HC_KEY_RSA, rsa1.pem);

	ring = ring_of(HC_KEY_ED25519, ed1.pem);
	ck_assert_int_eq(verify(ring, body, sig), HC_SIG_BAD);
	ck_assert_int_eq(verify(r, body, rsig), HC_SIG_BAD);
	/* an Ed25519 signature to an RSA ring: not an RSA signature's length */
	ck_assert_int_eq(verify(r, body, sig), HC_SIG_MALFORMED);
	hc_keyring_free(r);
	free(sig);
	free(rsig);
}
END_TEST

/* Rotation: while two keys are configured, either one's signature passes. */
START_TEST(test_rotation)
{
	char *s1 = sign(&ed1, body, strlen(body));
	char *s2 = sign(&ed2, body, strlen(body));
	hc_keyring *r = ring_of(HC_KEY_RSA, rsa1.b64);
	char *r1 = sign(&rsa1, body, strlen(body));
	char *r2 = sign(&rsa2, body, strlen(body));

	ring = ring_of(HC_KEY_ED25519, ed1.pem);
	ck_assert_int_eq(verify(ring, body, s2), HC_SIG_BAD);
	ck_assert_int_eq(hc_keyring_add(ring, ed2.b64, err, sizeof(err)), 0);
	ck_assert_uint_eq(hc_keyring_count(ring), 2);
	ck_assert_int_eq(verify(ring, body, s1), HC_SIG_OK);
	ck_assert_int_eq(verify(ring, body, s2), HC_SIG_OK);
	ck_assert_int_eq(hc_keyring_add(r, rsa2.pem, err, sizeof(err)), 0);
	ck_assert_int_eq(verify(r, body, r1), HC_SIG_OK);
	ck_assert_int_eq(verify(r, body, r2), HC_SIG_OK);
	hc_keyring_free(r);
	free(s1);
	free(s2);
	free(r1);
	free(r2);
}
END_TEST

START_TEST(test_malformed)
{
	char *sig = sign(&ed1, body, strlen(body));
	char buf[2048];
	size_t n = strlen(sig);

	ring = ring_of(HC_KEY_ED25519, ed1.pem);
	ck_assert_int_eq(verify(ring, body, NULL), HC_SIG_MALFORMED);
	ck_assert_int_eq(verify(ring, body, ""), HC_SIG_MALFORMED);
	ck_assert_int_eq(verify(ring, body, "not base64!"), HC_SIG_MALFORMED);
	ck_assert_int_eq(verify(ring, body, "QUJD"), HC_SIG_MALFORMED);  /* "ABC": 3 bytes, not 64 */
	/* 63 and 65 bytes */
	ck_assert_int_eq(verify(ring, body, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
			 HC_SIG_MALFORMED);
	ck_assert_int_eq(verify(ring, body, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
			 HC_SIG_MALFORMED);
	/* 64 zero bytes: the right shape, no key's signature */
	ck_assert_int_eq(verify(ring, body, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
			 HC_SIG_BAD);
	/* strictness: no padding, a character outside the alphabet, trailing
	 * whitespace, base64url, bits left over in the last quantum */
	memcpy(buf, sig, n - 2);
	buf[n - 2] = '\0';
	ck_assert_int_eq(verify(ring, body, buf), HC_SIG_MALFORMED);
	snprintf(buf, sizeof(buf), "%s\n", sig);
	ck_assert_int_eq(verify(ring, body, buf), HC_SIG_MALFORMED);
	snprintf(buf, sizeof(buf), "%s", sig);
	buf[5] = '*';
	ck_assert_int_eq(verify(ring, body, buf), HC_SIG_MALFORMED);
	snprintf(buf, sizeof(buf), "%s", sig);
	for (char *p = buf; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	ck_assert_int_eq(verify(ring, body, buf), strcmp(buf, sig) ? HC_SIG_MALFORMED : HC_SIG_OK);
	snprintf(buf, sizeof(buf), "%s", sig);
	buf[n - 3] = buf[n - 3] == 'B' ? 'C' : 'B'; /* 64 bytes: the char before "==" has 4 spare bits */
	ck_assert_int_eq(verify(ring, body, buf), HC_SIG_MALFORMED);
	/* over 1024 characters, even when otherwise valid base64 */
	memset(buf, 'A', 1028);
	buf[1028] = '\0';
	ck_assert_int_eq(verify(ring, body, buf), HC_SIG_MALFORMED);
	free(sig);
}
END_TEST

START_TEST(test_other_kind_refused)
{
	ring = hc_keyring_new(HC_KEY_ED25519);
	ck_assert_int_eq(hc_keyring_add(ring, rsa1.pem, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, rsa1.pem) && strstr(err, "not an Ed25519 key"), "%s", err);
	ck_assert_int_eq(hc_keyring_add(ring, rsa1.b64, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not an Ed25519 key"), "%s", err);
	ck_assert_uint_eq(hc_keyring_count(ring), 0);
	hc_keyring_free(ring);
	ring = hc_keyring_new(HC_KEY_RSA);
	ck_assert_int_eq(hc_keyring_add(ring, ed1.pem, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ed1.pem) && strstr(err, "not an RSA key"), "%s", err);
	ck_assert_int_eq(hc_keyring_add(ring, hc_ghl_published_key, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not an RSA key"), "%s", err);
}
END_TEST

START_TEST(test_bad_specs)
{
	char path[] = "/tmp/test_webhook_sig.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hello\n", 6), 6);
	close(fd);
	ring = hc_keyring_new(HC_KEY_ED25519);
	ck_assert_int_eq(hc_keyring_add(ring, path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) != NULL, "%s", err);
	unlink(path);
	ck_assert_int_eq(hc_keyring_add(ring, "/no/such/key.pem", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/no/such/key.pem") && strstr(err, "not base64"), "%s", err);
	ck_assert_int_eq(hc_keyring_add(ring, "QUJD", err, sizeof(err)), -1);  /* base64, not a key */
	ck_assert_msg(strstr(err, "not a DER public key") != NULL, "%s", err);
	ck_assert_uint_eq(hc_keyring_count(ring), 0);
}
END_TEST

START_TEST(test_published_key)
{
	ring = ring_of(HC_KEY_ED25519, hc_ghl_published_key);
	ck_assert_uint_eq(hc_keyring_count(ring), 1);
	/* nobody here holds its private key: a well-formed signature is bad */
	ck_assert_int_eq(verify(ring, body,
				"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
			 HC_SIG_BAD);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("webhook_sig");
	TCase *tc = tcase_create("webhook_sig");

	/* RSA key generation takes a moment: once for the whole case */
	tcase_add_unchecked_fixture(tc, setup_keys, teardown_keys);
	tcase_add_checked_fixture(tc, NULL, teardown_ring);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ed25519_pem);
	tcase_add_test(tc, test_ed25519_base64);
	tcase_add_test(tc, test_rsa_pem);
	tcase_add_test(tc, test_rsa_base64);
	tcase_add_test(tc, test_empty_body);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_other_kind_refused);
	tcase_add_test(tc, test_bad_specs);
	tcase_add_test(tc, test_published_key);
	suite_add_tcase(s, tc);
	return s;
}
