/* proto/crypt.c: memberlist's AES-256-GCM framing, keys and keyring. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>

#include "ovg/crypt.h"

static void make_key(uint8_t k[OVG_KEY_LEN], uint8_t seed)
{
	for (int i = 0; i < OVG_KEY_LEN; i++)
		k[i] = (uint8_t)(seed * 31 + i);
}

static void make_ring(struct ovg_keyring *kr, size_t n)
{
	memset(kr, 0, sizeof(*kr));
	for (size_t i = 0; i < n; i++) {
		uint8_t k[OVG_KEY_LEN];
		make_key(k, (uint8_t)(i + 1));
		ck_assert_int_eq(ovg_keyring_install(kr, k), 0);
	}
}

static const uint8_t nonce0[OVG_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

START_TEST(crypt_is_available_on_this_machine)
{
	ck_assert(ovg_crypt_available());
}
END_TEST

/* AES-256-GCM with an all-zero key and nonce over one zero block (McGrew and
 * Viega's GCM test case 14) in memberlist's layout. */
START_TEST(crypt_seal_matches_gcm_test_vector_in_memberlist_layout)
{
	static const uint8_t ct[16] = { 0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e,
					0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18 };
	static const uint8_t tag[16] = { 0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0,
					 0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19 };
	uint8_t key[OVG_KEY_LEN] = { 0 }, nonce[OVG_NONCE_LEN] = { 0 }, pt[16] = { 0 };
	uint8_t out[64];
	size_t n = 0;

	ck_assert_int_eq(ovg_crypt_seal(key, nonce, NULL, 0, pt, 16, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 16 + OVG_CRYPT_OVERHEAD);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_mem_eq(out + 1, nonce, 12);
	ck_assert_mem_eq(out + 13, ct, 16);
	ck_assert_mem_eq(out + 29, tag, 16);
}
END_TEST

START_TEST(crypt_opens_with_any_key_of_the_ring)
{
	struct ovg_keyring kr;
	const char *msg = "gossip about the cluster";
	uint8_t out[128], pt[128];
	size_t n = 0, pn = 0;

	make_ring(&kr, 5);
	for (size_t i = 0; i < kr.n; i++) {
		ck_assert_int_eq(ovg_crypt_seal(kr.keys[i], nonce0, NULL, 0, (const uint8_t *)msg,
						strlen(msg), out, sizeof(out), &n), 0);
		ck_assert_uint_eq(n, strlen(msg) + 29);
		ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), 0);
		ck_assert_uint_eq(pn, strlen(msg));
		ck_assert_mem_eq(pt, msg, pn);
	}
	/* empty plaintext is legal: 29 bytes */
	ck_assert_int_eq(ovg_crypt_seal(kr.keys[0], nonce0, NULL, 0, NULL, 0, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 29);
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), 0);
	ck_assert_uint_eq(pn, 0);
}
END_TEST

START_TEST(crypt_open_refuses_wrong_key_and_altered_bytes)
{
	struct ovg_keyring kr, other;
	uint8_t msg[100], out[200], pt[200];
	size_t n = 0, pn = 0;

	make_ring(&kr, 2);
	memset(&other, 0, sizeof(other));
	{
		uint8_t k[OVG_KEY_LEN];
		make_key(k, 77);
		ovg_keyring_install(&other, k);
	}
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	ck_assert_int_eq(ovg_crypt_seal(kr.keys[1], nonce0, NULL, 0, msg, sizeof(msg), out,
					sizeof(out), &n), 0);
	ck_assert_int_eq(ovg_crypt_open(&other, NULL, 0, out, n, pt, sizeof(pt), &pn), -EACCES);
	/* no keys at all */
	memset(&other, 0, sizeof(other));
	ck_assert_int_eq(ovg_crypt_open(&other, NULL, 0, out, n, pt, sizeof(pt), &pn), -EACCES);
	/* every byte after the version is authenticated */
	for (size_t i = 1; i < n; i++) {
		out[i] ^= 0x20;
		ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), -EACCES);
		out[i] ^= 0x20;
	}
	/* so is the associated data */
	ck_assert_int_eq(ovg_crypt_open(&kr, (const uint8_t *)"x", 1, out, n, pt, sizeof(pt), &pn),
			 -EACCES);
	/* cut short by one byte: the tag no longer matches */
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n - 1, pt, sizeof(pt), &pn), -EACCES);
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), 0);
}
END_TEST

START_TEST(crypt_open_rejects_short_and_unknown_versions)
{
	struct ovg_keyring kr;
	uint8_t buf[64] = { 1 }, pt[64];
	size_t pn = 0;

	make_ring(&kr, 1);
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, buf, 0, pt, sizeof(pt), &pn), -EBADMSG);
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, buf, 28, pt, sizeof(pt), &pn), -EBADMSG);
	buf[0] = 0;   /* version 0 needs at least one padding block: 45 bytes */
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, buf, 44, pt, sizeof(pt), &pn), -EBADMSG);
	buf[0] = 2;
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, buf, 60, pt, sizeof(pt), &pn), -EBADMSG);
	buf[0] = 0x0c;   /* what a plaintext CRC packet starts with */
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, buf, 60, pt, sizeof(pt), &pn), -EBADMSG);
}
END_TEST

START_TEST(crypt_reports_small_buffers)
{
	struct ovg_keyring kr;
	uint8_t msg[50] = { 0 }, out[100], pt[100];
	size_t n = 0, pn = 0;

	make_ring(&kr, 1);
	ck_assert_int_eq(ovg_crypt_seal(kr.keys[0], nonce0, NULL, 0, msg, 50, out, 78, &n), -ENOSPC);
	ck_assert_int_eq(ovg_crypt_seal(kr.keys[0], nonce0, NULL, 0, msg, 50, out, 79, &n), 0);
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, 49, &pn), -ENOSPC);
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, 50, &pn), 0);
}
END_TEST

/* Version 0 as memberlist's protocol-1 senders make it: PKCS#7 padding to 16
 * (1-16 bytes, each holding the count), then GCM. */
static size_t seal_v0(const uint8_t key[OVG_KEY_LEN], const uint8_t *pt, size_t len,
		      uint8_t pad_override, uint8_t *out)
{
	uint8_t padded[256];
	size_t pad = 16 - len % 16;
	unsigned long long clen = 0;

	memcpy(padded, pt, len);
	memset(padded + len, (int)pad, pad);
	if (pad_override)
		padded[len + pad - 1] = pad_override;
	out[0] = 0;
	memcpy(out + 1, nonce0, 12);
	ck_assert_int_eq(crypto_aead_aes256gcm_encrypt(out + 13, &clen, padded, len + pad, NULL,
						       0, NULL, nonce0, key), 0);
	return 13 + (size_t)clen;
}

START_TEST(crypt_opens_version_0_and_strips_padding)
{
	struct ovg_keyring kr;
	uint8_t msg[64], out[256], pt[256];
	size_t pn = 0;

	make_ring(&kr, 2);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(0xA0 + i);
	for (size_t len = 0; len <= 40; len++) {
		size_t n = seal_v0(kr.keys[1], msg, len, 0, out);
		ck_assert_uint_eq(n, 1 + 12 + (len / 16 + 1) * 16 + 16);
		ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), 0);
		ck_assert_uint_eq(pn, len);
		ck_assert(len == 0 || memcmp(pt, msg, len) == 0);
	}
}
END_TEST

START_TEST(crypt_version_0_with_bad_padding_is_rejected)
{
	struct ovg_keyring kr;
	uint8_t msg[20] = { 0 }, out[256], pt[256];
	size_t pn = 0, n;

	make_ring(&kr, 1);
	n = seal_v0(kr.keys[0], msg, 10, 17, out);    /* count above the block */
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), -EBADMSG);
	n = seal_v0(kr.keys[0], msg, 16, 0x80, out);  /* count beyond the text */
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), -EBADMSG);
	n = seal_v0(kr.keys[0], msg, 10, 0xff, out);
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), -EBADMSG);
	n = seal_v0(kr.keys[0], msg, 10, 5, out);     /* 6 pad bytes, last says 5, others 6 */
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), -EBADMSG);
	n = seal_v0(kr.keys[0], msg, 15, 0, out);     /* 1 pad byte: fine */
	ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, out, n, pt, sizeof(pt), &pn), 0);
	ck_assert_uint_eq(pn, 15);
}
END_TEST

START_TEST(key_decode_accepts_serf_keygen_output)
{
	uint8_t key[OVG_KEY_LEN], back[OVG_KEY_LEN];
	char b64[OVG_KEY_B64_MAX];

	make_key(key, 9);
	ovg_key_encode(key, b64);
	ck_assert_uint_eq(strlen(b64), 44);
	ck_assert_int_eq(b64[43], '=');
	ck_assert_int_eq(ovg_key_decode(b64, back), 0);
	ck_assert_mem_eq(key, back, OVG_KEY_LEN);
	/* a known key: 32 bytes 0x00..0x1f */
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", back), 0);
	for (int i = 0; i < 32; i++)
		ck_assert_uint_eq(back[i], i);
	/* surrounding whitespace, as read from a file */
	ck_assert_int_eq(ovg_key_decode("  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", back), 0);
	ck_assert_uint_eq(back[31], 31);
}
END_TEST

START_TEST(key_decode_classifies_errors)
{
	uint8_t key[OVG_KEY_LEN];

	/* 16 and 24 bytes: AES-128/192, valid for memberlist, not for libsodium */
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODw==", key), -EOPNOTSUPP);
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", key), -EOPNOTSUPP);
	/* 31 and 33 bytes, empty, very long */
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", key), -EMSGSIZE);
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", key), -EMSGSIZE);
	ck_assert_int_eq(ovg_key_decode("", key), -EMSGSIZE);
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==", key), -EMSGSIZE);
	/* not base64: bad characters, missing padding, padding inside */
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8!", key), -EINVAL);
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", key), -EINVAL);
	ck_assert_int_eq(ovg_key_decode("AAEC=wQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key), -EINVAL);
	ck_assert_int_eq(ovg_key_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=8=", key), -EINVAL);
	ck_assert_int_eq(ovg_key_decode(NULL, key), -EINVAL);
}
END_TEST

START_TEST(keyring_install_use_remove)
{
	struct ovg_keyring kr;
	uint8_t a[OVG_KEY_LEN], b[OVG_KEY_LEN], c[OVG_KEY_LEN];

	memset(&kr, 0, sizeof(kr));
	make_key(a, 1);
	make_key(b, 2);
	make_key(c, 3);
	ck_assert_int_eq(ovg_keyring_install(&kr, a), 0);
	ck_assert_int_eq(ovg_keyring_install(&kr, b), 0);
	ck_assert_int_eq(ovg_keyring_install(&kr, a), 0);      /* already there */
	ck_assert_uint_eq(kr.n, 2);
	ck_assert_mem_eq(kr.keys[0], a, OVG_KEY_LEN);          /* first installed is primary */
	ck_assert(ovg_keyring_has(&kr, b));
	ck_assert(!ovg_keyring_has(&kr, c));
	ck_assert_int_eq(ovg_keyring_use(&kr, c), -ENOENT);
	ck_assert_int_eq(ovg_keyring_use(&kr, b), 0);
	ck_assert_mem_eq(kr.keys[0], b, OVG_KEY_LEN);
	ck_assert_int_eq(ovg_keyring_remove(&kr, b), -EBUSY);
	ck_assert_int_eq(ovg_keyring_remove(&kr, c), -ENOENT);
	ck_assert_int_eq(ovg_keyring_remove(&kr, a), 0);
	ck_assert_uint_eq(kr.n, 1);
	ck_assert(!ovg_keyring_has(&kr, a));
	ck_assert(ovg_keyring_has(&kr, b));
}
END_TEST

START_TEST(keyring_is_bounded)
{
	struct ovg_keyring kr;
	uint8_t k[OVG_KEY_LEN];

	make_ring(&kr, OVG_KEYRING_MAX);
	make_key(k, 200);
	ck_assert_int_eq(ovg_keyring_install(&kr, k), -ENOSPC);
	ck_assert_uint_eq(kr.n, OVG_KEYRING_MAX);
	/* removing from the middle keeps the rest */
	make_key(k, 5);
	ck_assert_int_eq(ovg_keyring_remove(&kr, k), 0);
	for (uint8_t s = 1; s <= OVG_KEYRING_MAX; s++) {
		make_key(k, s);
		ck_assert(ovg_keyring_has(&kr, k) == (s != 5));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crypt");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, crypt_is_available_on_this_machine);
	tcase_add_test(tc, crypt_seal_matches_gcm_test_vector_in_memberlist_layout);
	tcase_add_test(tc, crypt_opens_with_any_key_of_the_ring);
	tcase_add_test(tc, crypt_open_refuses_wrong_key_and_altered_bytes);
	tcase_add_test(tc, crypt_open_rejects_short_and_unknown_versions);
	tcase_add_test(tc, crypt_reports_small_buffers);
	tcase_add_test(tc, crypt_opens_version_0_and_strips_padding);
	tcase_add_test(tc, crypt_version_0_with_bad_padding_is_rejected);
	tcase_add_test(tc, key_decode_accepts_serf_keygen_output);
	tcase_add_test(tc, key_decode_classifies_errors);
	tcase_add_test(tc, keyring_install_use_remove);
	tcase_add_test(tc, keyring_is_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
