/*
 * memberlist's encryption: AES-256-GCM through libsodium.
 *   sealed = version(1) | nonce[12] | ciphertext | tag[16]
 * version 1 has no padding; version 0 (protocol 1 peers) pads the plaintext
 * PKCS#7-style to 16 bytes and is accepted on receive only.
 * Packets use empty associated data; streams use their 5-byte header
 * (0x0a | u32 BE length) as associated data.
 * Nonces are passed in so tests and the simulator are deterministic; the
 * daemon draws them from randombytes_buf().
 */
#ifndef OVG_CRYPT_H
#define OVG_CRYPT_H

#include "ovg/common.h"

#define OVG_KEY_LEN        32
#define OVG_KEYRING_MAX    16
#define OVG_NONCE_LEN      12
#define OVG_TAG_LEN        16
#define OVG_CRYPT_OVERHEAD (1 + OVG_NONCE_LEN + OVG_TAG_LEN)   /* 29 */
#define OVG_KEY_B64_MAX    64   /* buffer for a base64 key incl. NUL */

struct ovg_keyring {
	size_t n;                                 /* 0 = encryption off */
	uint8_t keys[OVG_KEYRING_MAX][OVG_KEY_LEN]; /* keys[0] is the primary */
};

/* sodium_init() and AES-GCM support; false if the CPU lacks AES-NI/PCLMUL. */
bool ovg_crypt_available(void);

/* base64 (standard, padded) -> 32-byte key. 0; -EINVAL not base64;
 * -EOPNOTSUPP a 16- or 24-byte key (AES-128/192, which libsodium lacks);
 * -EMSGSIZE any other length. */
int ovg_key_decode(const char *b64, uint8_t key[OVG_KEY_LEN]);
void ovg_key_encode(const uint8_t key[OVG_KEY_LEN], char out[OVG_KEY_B64_MAX]);

/* Keyring edits. install: 0 (also if already there), -ENOSPC full.
 * use: makes an installed key primary, -ENOENT otherwise.
 * remove: -EBUSY for the primary, -ENOENT if absent. */
int ovg_keyring_install(struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN]);
int ovg_keyring_use(struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN]);
int ovg_keyring_remove(struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN]);
bool ovg_keyring_has(const struct ovg_keyring *kr, const uint8_t key[OVG_KEY_LEN]);

/* Seal with `key` as version 1. out needs len + OVG_CRYPT_OVERHEAD.
 * 0, -ENOSPC. */
int ovg_crypt_seal(const uint8_t key[OVG_KEY_LEN], const uint8_t nonce[OVG_NONCE_LEN],
		   const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
		   uint8_t *out, size_t cap, size_t *out_len);

/* Open with every key of the ring, primary first. Accepts versions 0 and 1.
 * 0 with plaintext in out; -EBADMSG too short / bad version / bad padding;
 * -EACCES no key authenticates it; -ENOSPC out too small. */
int ovg_crypt_open(const struct ovg_keyring *kr, const uint8_t *ad, size_t ad_len,
		   const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
		   size_t *out_len);

#endif
