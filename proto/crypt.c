/*
 * memberlist's AES-256-GCM framing (security.go) over libsodium, and the
 * keyring. See include/ovg/crypt.h for the layout.
 */
#include <sodium.h>

#include "ovg/crypt.h"

#define VSN_PADDED 0   /* PKCS#7 to 16 bytes; receive only */
#define VSN_PLAIN  1
#define PAD_BLOCK  16

/* 0 unknown, 1 available, -1 unavailable. Racing first callers compute the
 * same answer, so a relaxed atomic is enough. */
static int crypt_state;

bool ovg_crypt_available(void)
{
	int s = __atomic_load_n(&crypt_state, __ATOMIC_ACQUIRE);

	if (s == 0) {
		s = (sodium_init() >= 0 && crypto_aead_aes256gcm_is_available()) ? 1 : -1;
		__atomic_store_n(&crypt_state, s, __ATOMIC_RELEASE);
	}
	return s == 1;
}

/* ---- keys ------------------------------------------------------------------ */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Standard alphabet, padded (like Go's base64.StdEncoding, which serf and
 * memberlist use). Surrounding whitespace is ignored so a key read from a
 * file with its newline still decodes.
 */
int ovg_key_decode(const char *b64, uint8_t key[OVG_KEY_LEN])
{
	uint8_t buf[48];            /* anything longer than 32 is refused anyway */
	size_t start = 0, end, n = 0, pad = 0;
	uint32_t acc = 0;

	if (!b64)
		return -EINVAL;
	end = strlen(b64);
	while (start < end && is_space((unsigned char)b64[start]))
		start++;
	while (end > start && is_space((unsigned char)b64[end - 1]))
		end--;
	if ((end - start) % 4 != 0)
		return -EINVAL;
	if (end > start && b64[end - 1] == '=') {
		pad++;
		if (b64[end - 2] == '=')   /* length is a nonzero multiple of 4 */
			pad++;
	}

	for (size_t i = start; i < end - pad; i++) {
		int v = b64_value((unsigned char)b64[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		if ((i - start) % 4 == 3) {
			if (n + 3 > sizeof(buf))
				return -EMSGSIZE;
			buf[n++] = (uint8_t)(acc >> 16);
			buf[n++] = (uint8_t)(acc >> 8);
			buf[n++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if (pad == 2) {             /* 2 chars = 12 bits -> 1 byte */
		if (n + 1 > sizeof(buf))
			return -EMSGSIZE;
		buf[n++] = (uint8_t)(acc >> 4);
	} else if (pad == 1) {      /* 3 chars = 18 bits -> 2 bytes */
		if (n + 2 > sizeof(buf))
			return -EMSGSIZE;
		buf[n++] = (uint8_t)(acc >> 10);
		buf[n++] = (uint8_t)(acc >> 2);
	}

	if (n == 16 || n == 24) {
		sodium_memzero(buf, sizeof(buf));
		return -EOPNOTSUPP;
	}
	if (n != OVG_KEY_LEN) {
		sodium_memzero(buf, sizeof(buf));
		return -EMSGSIZE;
	}
	memcpy(key, buf, OVG_KEY_LEN);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

void ovg_key_encode(const uint8_t key[OVG_KEY_LEN], char out[OVG_KEY_B64_MAX])
{
	sodium_bin2base64(out, OVG_KEY_B64_MAX, key, OVG_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

/* ---- keyring --------------------------------------------------------------- */

static int keyring_find(const struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN])
{
	for (size_t i = 0; i < kr->n && i < OVG_KEYRING_MAX; i++)
		if (sodium_memcmp(kr->keys[i], key, OVG_KEY_LEN) == 0)
			return (int)i;
	return -1;
}

bool ovg_keyring_has(const struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN])
{
	return keyring_find(kr, key) >= 0;
}

int ovg_keyring_install(struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN])
{
	if (keyring_find(kr, key) >= 0)
		return 0;
	if (kr->n >= OVG_KEYRING_MAX)
		return -ENOSPC;
	memcpy(kr->keys[kr->n++], key, OVG_KEY_LEN);
	return 0;
}

int ovg_keyring_use(struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN])
{
	uint8_t tmp[OVG_KEY_LEN];
	int i = keyring_find(kr, key);

	if (i < 0)
		return -ENOENT;
	if (i == 0)
		return 0;
	/* Swap into the front; the order of the other keys does not matter. */
	memcpy(tmp, kr->keys[0], OVG_KEY_LEN);
	memcpy(kr->keys[0], kr->keys[i], OVG_KEY_LEN);
	memcpy(kr->keys[i], tmp, OVG_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

int ovg_keyring_remove(struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN])
{
	int i = keyring_find(kr, key);

	if (i < 0)
		return -ENOENT;
	if (i == 0)
		return -EBUSY;
	memmove(kr->keys[i], kr->keys[i + 1], (kr->n - (size_t)i - 1) * OVG_KEY_LEN);
	kr->n--;
	sodium_memzero(kr->keys[kr->n], OVG_KEY_LEN);
	return 0;
}

/* ---- seal / open ----------------------------------------------------------- */

int ovg_crypt_seal(const uint8_t key[OVG_KEY_LEN], const uint8_t nonce[OVG_NONCE_LEN],
		   const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
		   uint8_t *out, size_t cap, size_t *out_len)
{
	unsigned long long clen = 0;

	if (!ovg_crypt_available())
		return -EOPNOTSUPP;
	if (pt_len > SIZE_MAX - OVG_CRYPT_OVERHEAD || cap < pt_len + OVG_CRYPT_OVERHEAD)
		return -ENOSPC;
	out[0] = VSN_PLAIN;
	memcpy(out + 1, nonce, OVG_NONCE_LEN);
	if (crypto_aead_aes256gcm_encrypt(out + 1 + OVG_NONCE_LEN, &clen, pt, pt_len,
					  ad, ad_len, NULL, nonce, key) != 0)
		return -EIO;
	*out_len = 1 + OVG_NONCE_LEN + (size_t)clen;
	return 0;
}

int ovg_crypt_open(const struct ovg_keyring *kr, const uint8_t *ad, size_t ad_len,
		   const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
		   size_t *out_len)
{
	const uint8_t *nonce, *ct;
	size_t ct_len, min_len;
	unsigned long long mlen = 0;
	uint8_t vsn, none;

	if (!ovg_crypt_available())
		return -EOPNOTSUPP;
	if (!out) {                 /* only an empty plaintext fits in no buffer */
		out = &none;
		cap = 0;
	}
	if (in_len < 1)
		return -EBADMSG;
	vsn = in[0];
	if (vsn != VSN_PADDED && vsn != VSN_PLAIN)
		return -EBADMSG;
	/* version 0 always carries at least one block of padding */
	min_len = OVG_CRYPT_OVERHEAD + (vsn == VSN_PADDED ? PAD_BLOCK : 0);
	if (in_len < min_len)
		return -EBADMSG;
	nonce = in + 1;
	ct = in + 1 + OVG_NONCE_LEN;
	ct_len = in_len - 1 - OVG_NONCE_LEN;
	if (cap < ct_len - OVG_TAG_LEN)
		return -ENOSPC;

	for (size_t i = 0; i < kr->n && i < OVG_KEYRING_MAX; i++) {
		if (crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, ct, ct_len, ad, ad_len,
						  nonce, kr->keys[i]) != 0)
			continue;
		if (vsn == VSN_PADDED) {
			size_t pad = mlen ? out[mlen - 1] : 0;

			if (pad < 1 || pad > PAD_BLOCK || pad > mlen)
				return -EBADMSG;
			for (size_t j = 1; j <= pad; j++)
				if (out[mlen - j] != pad)
					return -EBADMSG;
			mlen -= pad;
		}
		*out_len = (size_t)mlen;
		return 0;
	}
	return -EACCES;
}
