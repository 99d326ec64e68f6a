/*
 * msgpack in memberlist's dialect.
 *
 * Writing goes through msgpack-c's packer into a bounded buffer, using the old
 * "raw" family (fixstr, str16, str32) for both strings and byte slices, exactly
 * as memberlist's Go codec does: never str8 (0xd9) or bin.
 *
 * Reading is a bounded cursor (no allocation at all, so no allocation by an
 * unchecked length, which msgpack-c's object unpacker would do for arrays and
 * maps): it is lenient like memberlist's decoder (any int width, str or bin for
 * bytes, nil for empty) and refuses truncated, wrongly typed or too deeply nested
 * input with an error.
 */
#ifndef OVG_MP_H
#define OVG_MP_H

#include <msgpack.h>
#include "ovg/common.h"

#define OVG_MP_MAX_DEPTH 16

struct ovg_mp_reader {
	const uint8_t *p;
	const uint8_t *end;
};

static inline void ovg_mp_reader_init(struct ovg_mp_reader *r, const uint8_t *buf, size_t len)
{
	r->p = buf;
	r->end = buf + len;
}
static inline size_t ovg_mp_remaining(const struct ovg_mp_reader *r) { return (size_t)(r->end - r->p); }

/* All readers: 0, or -EBADMSG (wrong type / malformed) or -EMSGSIZE (truncated),
 * -ERANGE where noted. On error the cursor position is unspecified. Nil reads
 * as the zero value everywhere (empty map/array/string, 0, false), as Go's
 * codec decodes it. */
/* Container headers (fix/16/32). A count larger than the bytes left (one per
 * array element, two per map entry) is -EMSGSIZE, so looping over *n is bounded
 * by the input. */
int ovg_mp_read_map(struct ovg_mp_reader *r, uint32_t *n);
int ovg_mp_read_array(struct ovg_mp_reader *r, uint32_t *n);
/* str (any width) or bin; nil reads as empty. Borrows from the input. */
int ovg_mp_read_str(struct ovg_mp_reader *r, struct ovg_bytes *out);
/* Bytes: str, bin or nil borrow; an array of small uints is copied into
 * scratch (cap bytes) and out points there; longer arrays -> -EMSGSIZE, an
 * element over 255 -> -ERANGE. */
int ovg_mp_read_bytes(struct ovg_mp_reader *r, struct ovg_bytes *out, uint8_t *scratch, size_t cap);
/* Any positive or negative int width; negative values -> -ERANGE for uint,
 * values over INT64_MAX -> -ERANGE for int. Floats are -EBADMSG. */
int ovg_mp_read_uint(struct ovg_mp_reader *r, uint64_t *v);
int ovg_mp_read_int(struct ovg_mp_reader *r, int64_t *v);
/* true/false, or fixint 0/1. */
int ovg_mp_read_bool(struct ovg_mp_reader *r, bool *v);
bool ovg_mp_peek_nil(const struct ovg_mp_reader *r);
/* Skip one whole object of any type (ext and float too), with at most
 * OVG_MP_MAX_DEPTH nested maps/arrays (deeper -> -EBADMSG); 0xc1 -> -EBADMSG. */
int ovg_mp_skip(struct ovg_mp_reader *r);

/* Writer: msgpack-c packer over a caller-owned buffer. Overflow is sticky:
 * check ovg_mp_writer_finish() once at the end. */
struct ovg_mp_writer {
	msgpack_packer pk;
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool overflow;
};

void ovg_mp_writer_init(struct ovg_mp_writer *w, uint8_t *buf, size_t cap);
/* 0 with *len set, or -ENOSPC if anything did not fit. */
int ovg_mp_writer_finish(const struct ovg_mp_writer *w, size_t *len);
void ovg_mp_write_map(struct ovg_mp_writer *w, uint32_t n);
void ovg_mp_write_array(struct ovg_mp_writer *w, uint32_t n);
/* fixstr/str16/str32 for strings and byte slices alike; len > UINT32_MAX
 * marks the writer overflowed. */
void ovg_mp_write_raw(struct ovg_mp_writer *w, const void *p, size_t len);
static inline void ovg_mp_write_cstr(struct ovg_mp_writer *w, const char *s) { ovg_mp_write_raw(w, s, strlen(s)); }
void ovg_mp_write_uint(struct ovg_mp_writer *w, uint64_t v);
void ovg_mp_write_int(struct ovg_mp_writer *w, int64_t v);
void ovg_mp_write_bool(struct ovg_mp_writer *w, bool v);
void ovg_mp_write_nil(struct ovg_mp_writer *w);
/* Raw bytes appended as they are (no msgpack header), e.g. a type byte. */
void ovg_mp_write_verbatim(struct ovg_mp_writer *w, const void *p, size_t len);

#endif
