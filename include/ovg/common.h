/* Small shared definitions: byte views, bounds, error helpers. */
#ifndef OVG_COMMON_H
#define OVG_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OVG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OVG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define OVG_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Bounds shared by every module. */
#define OVG_NAME_MAX        255     /* node and endpoint names, bytes */
#define OVG_META_MAX        512     /* memberlist node meta (serf's limit) */
#define OVG_UDP_MAX         1400    /* gossip packet budget incl. encryption */
#define OVG_UDP_RECV_MAX    65536   /* receive buffer for one datagram */
#define OVG_STREAM_MAX      (20u << 20) /* 20 MiB: largest TCP stream message */

/* A borrowed view into someone else's bytes. Never owns. */
struct ovg_bytes {
	const uint8_t *p;
	size_t len;
};

static inline struct ovg_bytes ovg_bytes_make(const void *p, size_t len)
{
	struct ovg_bytes b = { (const uint8_t *)p, len };
	return b;
}

static inline bool ovg_bytes_eq_str(struct ovg_bytes b, const char *s)
{
	size_t n = strlen(s);
	return b.len == n && (n == 0 || memcmp(b.p, s, n) == 0);
}

/* A peer's address as memberlist carries it: 4 or 16 raw bytes plus port. */
struct ovg_addr {
	uint8_t len;        /* 4 (IPv4) or 16 (IPv6); 0 = unset */
	uint8_t ip[16];
	uint16_t port;
};

/* Big-endian helpers. */
static inline void ovg_put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline void ovg_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static inline uint16_t ovg_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ovg_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Injected randomness: gossip/ and proto/ never call rand(). */
struct ovg_rng {
	uint64_t (*next)(void *ctx);   /* uniform 64 random bits */
	void *ctx;
};

static inline uint64_t ovg_rng_next(const struct ovg_rng *r) { return r->next(r->ctx); }
/* Uniform in [0, n); n > 0. Bias is negligible for the small n we use. */
static inline uint32_t ovg_rng_below(const struct ovg_rng *r, uint32_t n)
{
	return (uint32_t)((ovg_rng_next(r) >> 32) * (uint64_t)n >> 32);
}

/* splitmix64: a tiny seeded generator for tests and the simulator. */
struct ovg_splitmix { uint64_t s; };
static inline uint64_t ovg_splitmix_next(void *ctx)
{
	struct ovg_splitmix *m = ctx;
	uint64_t z = (m->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
