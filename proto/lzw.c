/*
 * LZW as Go's compress/lzw writes and reads it with order LSB and literal
 * width 8, which is what memberlist's compress message carries.
 *
 * Code space: 0-255 literals, 256 clear, 257 end of data, 258.. table
 * entries. Codes are packed least significant bit first, starting at 9 bits
 * wide and growing to 12. Both sides track `hi`, the table slot that the next
 * emitted (encoder) or read (decoder) code defines; the width grows the moment
 * `hi` reaches 1 << width, so encoder and decoder switch at the same code.
 * The encoder starts with a clear code, as current Go writers do and as the
 * serf that Debian ships was seen to (older Go writers left it out; every
 * reader takes either). When `hi` reaches 4095 it sends a clear
 * (still 12 bits wide) and starts over with an empty table. The stream ends
 * with the end code and the last partial byte.
 */
#include <stdlib.h>

#include "ovg/frame.h"

#define LZW_LIT        256u
#define LZW_CLEAR      256u
#define LZW_EOF        257u
#define LZW_WIDTH_MIN  9u
#define LZW_WIDTH_MAX  12u
#define LZW_CODES      (1u << LZW_WIDTH_MAX)  /* 4096 */
#define LZW_LAST_CODE  (LZW_CODES - 1)        /* 4095: encoder clears here */
#define LZW_NONE       0xffffu

/* ---- bit packing --------------------------------------------------------- */

struct bit_out {
	uint8_t *p;
	size_t len;
	size_t cap;
	uint32_t acc;     /* pending bits, low bits first */
	unsigned nbits;
	bool full;
};

static void put_code(struct bit_out *b, uint32_t code, unsigned width)
{
	b->acc |= code << b->nbits;
	b->nbits += width;
	while (b->nbits >= 8) {
		if (b->len == b->cap) {
			b->full = true;
		} else {
			b->p[b->len++] = (uint8_t)b->acc;
		}
		b->acc >>= 8;
		b->nbits -= 8;
	}
}

static void put_flush(struct bit_out *b)
{
	if (b->nbits == 0)
		return;
	if (b->len == b->cap)
		b->full = true;
	else
		b->p[b->len++] = (uint8_t)b->acc;
	b->acc = 0;
	b->nbits = 0;
}

/* ---- encoder ------------------------------------------------------------- */

/*
 * Dictionary: open addressing over (prefix code << 8 | next byte) -> code.
 * A slot is live only if its generation matches the current one, so a clear
 * costs one increment instead of wiping the table.
 */
#define ENC_SLOTS_BITS 13
#define ENC_SLOTS      (1u << ENC_SLOTS_BITS)   /* load factor <= 1/2 */

struct lzw_enc {
	uint32_t key[ENC_SLOTS];
	uint16_t code[ENC_SLOTS];
	uint16_t gen[ENC_SLOTS];
	uint16_t cur_gen;
	unsigned width;
	uint32_t hi;
	uint32_t overflow;
};

static inline uint32_t enc_hash(uint32_t key)
{
	return (key * 0x9E3779B1u) >> (32 - ENC_SLOTS_BITS);
}

static void enc_reset(struct lzw_enc *e)
{
	e->width = LZW_WIDTH_MIN;
	e->hi = LZW_EOF;
	e->overflow = 1u << LZW_WIDTH_MIN;
	if (++e->cur_gen == 0) {          /* wrapped: stale slots could look live */
		memset(e->gen, 0, sizeof(e->gen));
		e->cur_gen = 1;
	}
}

/* Slot holding key, or the empty slot where it would go. */
static inline uint32_t enc_find(const struct lzw_enc *e, uint32_t key, bool *found)
{
	uint32_t h = enc_hash(key);
	while (e->gen[h] == e->cur_gen) {
		if (e->key[h] == key) {
			*found = true;
			return h;
		}
		h = (h + 1) & (ENC_SLOTS - 1);
	}
	*found = false;
	return h;
}

/* After emitting a code: the next slot is taken. false if the table is now
 * full, in which case a clear has been sent and the table is empty again. */
static bool enc_advance(struct lzw_enc *e, struct bit_out *b)
{
	e->hi++;
	if (e->hi == e->overflow) {
		e->width++;
		e->overflow <<= 1;
	}
	if (e->hi == LZW_LAST_CODE) {
		put_code(b, LZW_CLEAR, e->width);
		enc_reset(e);
		return false;
	}
	return true;
}

int ovg_lzw_encode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
		   size_t *out_len)
{
	struct bit_out b = { .p = out, .cap = cap };
	struct lzw_enc *e;
	uint32_t code;

	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* only the generations need clearing: key/code are read for live slots */
	memset(e->gen, 0, sizeof(e->gen));
	e->cur_gen = 0;
	enc_reset(e);

	put_code(&b, LZW_CLEAR, e->width);
	if (in_len > 0) {
		code = in[0];
		for (size_t i = 1; i < in_len; i++) {
			uint32_t key = code << 8 | in[i];
			bool found;
			uint32_t slot = enc_find(e, key, &found);

			if (found) {
				code = e->code[slot];
				continue;
			}
			put_code(&b, code, e->width);
			code = in[i];
			if (enc_advance(e, &b)) {
				e->key[slot] = key;
				e->code[slot] = (uint16_t)e->hi;
				e->gen[slot] = e->cur_gen;
			}
			if (b.full)
				break;
		}
		put_code(&b, code, e->width);
		enc_advance(e, &b);
	}
	put_code(&b, LZW_EOF, e->width);
	put_flush(&b);
	free(e);
	if (b.full)
		return -ENOSPC;
	*out_len = b.len;
	return 0;
}

/* ---- decoder ------------------------------------------------------------- */

struct lzw_dec {
	uint16_t prefix[LZW_CODES];  /* code for all but the last byte; < own code */
	uint16_t length[LZW_CODES];  /* bytes the code expands to */
	uint8_t suffix[LZW_CODES];   /* last byte */
	uint8_t first[LZW_CODES];    /* first byte */
};

/* Write the expansion of a defined code at out[0..length). */
static void dec_expand(const struct lzw_dec *d, uint32_t code, uint8_t *out)
{
	size_t i = d->length[code];

	while (code >= LZW_LIT) {
		out[--i] = d->suffix[code];
		code = d->prefix[code];
	}
	out[--i] = (uint8_t)code;
}

int ovg_lzw_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
		   size_t *out_len)
{
	struct lzw_dec *d;
	size_t pos = 0, o = 0;
	uint32_t acc = 0;
	unsigned nbits = 0;
	unsigned width = LZW_WIDTH_MIN;
	uint32_t hi = LZW_EOF, overflow = 1u << LZW_WIDTH_MIN;
	uint32_t last = LZW_NONE;
	int ret;

	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (uint32_t c = 0; c < LZW_LIT; c++) {
		d->length[c] = 1;
		d->first[c] = (uint8_t)c;
	}

	for (;;) {
		uint32_t code;
		size_t n;

		while (nbits < width) {
			if (pos == in_len) {
				ret = -EBADMSG;   /* ended without the end code */
				goto out_free;
			}
			acc |= (uint32_t)in[pos++] << nbits;
			nbits += 8;
		}
		code = acc & ((1u << width) - 1);
		acc >>= width;
		nbits -= width;

		if (code == LZW_CLEAR) {
			width = LZW_WIDTH_MIN;
			hi = LZW_EOF;
			overflow = 1u << LZW_WIDTH_MIN;
			last = LZW_NONE;
			continue;
		}
		if (code == LZW_EOF)
			break;
		if (code > hi) {
			ret = -EBADMSG;
			goto out_free;
		}
		/*
		 * code == hi with a previous code is the one entry the encoder has
		 * made but we have not yet: it is last's expansion plus last's
		 * first byte. (With no previous code, hi is only reachable once
		 * the table is full, and then that entry is already defined.)
		 */
		if (code == hi && last != LZW_NONE) {
			n = (size_t)d->length[last] + 1;
			if (n > cap - o) {
				ret = -ENOSPC;
				goto out_free;
			}
			dec_expand(d, last, out + o);
			out[o + n - 1] = d->first[last];
		} else {
			n = d->length[code];
			if (n > cap - o) {
				ret = -ENOSPC;
				goto out_free;
			}
			dec_expand(d, code, out + o);
		}
		if (last != LZW_NONE) {
			d->prefix[hi] = (uint16_t)last;
			d->suffix[hi] = out[o];
			d->first[hi] = d->first[last];
			d->length[hi] = (uint16_t)(d->length[last] + 1);
		}
		o += n;
		last = code;
		hi++;
		if (hi >= overflow) {
			if (width == LZW_WIDTH_MAX) {
				/* Table full and no clear: keep decoding with it frozen. */
				last = LZW_NONE;
				hi--;
			} else {
				width++;
				overflow <<= 1;
			}
		}
	}
	*out_len = o;
	ret = 0;
out_free:
	free(d);
	return ret;
}
