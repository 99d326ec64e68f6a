/*
 * memberlist framing around messages: compound, CRC, LZW compression and the
 * packet and stream pipelines that combine them with encryption.
 *
 * Packet (UDP), outermost last on send:
 *   message | compound(07 | n | n x be16 len | msgs) -> [compress 09] -> [crc 0c|be32]
 *   -> [encrypt: version|nonce|ct|tag]
 * Stream (TCP):
 *   type|msgpack... -> [compress 09] -> [encrypt 0a | be32 len | version|nonce|ct|tag]
 */
#ifndef OVG_FRAME_H
#define OVG_FRAME_H

#include "ovg/common.h"
#include "ovg/crypt.h"

#define OVG_COMPOUND_MAX     255   /* messages in one compound */
#define OVG_PACKET_MSGS_MAX  512   /* messages out of one packet (nested compounds) */
#define OVG_LZW_OUT_MAX      OVG_STREAM_MAX

uint32_t ovg_crc32(const uint8_t *p, size_t len);   /* CRC-32/IEEE */

/* Build a compound of as many msgs (in order) as fit in `budget` bytes
 * (budget includes the compound header). *used = messages taken (>= 1 unless
 * the first alone does not fit, then -EMSGSIZE). A single message is emitted
 * as-is, without compound header. */
int ovg_compound_build(const struct ovg_bytes *msgs, size_t n, size_t budget,
		       uint8_t *out, size_t cap, size_t *out_len, size_t *used);
/* Parse the body after the 07 type byte. Messages truncated by the sender
 * are an error (-EMSGSIZE) but the complete ones before it are returned in
 * parts with *n set. At most max parts. Borrows. */
int ovg_compound_parse(const uint8_t *buf, size_t len, struct ovg_bytes *parts,
		       size_t max, size_t *n);

/* Go compress/lzw, LSB order, literal width 8. 0, -EBADMSG corrupt stream,
 * -ENOSPC output over cap. */
int ovg_lzw_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
		   size_t *out_len);
int ovg_lzw_encode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
		   size_t *out_len);

/* Scratch space for the pipelines: decrypted and decompressed bytes live
 * here, and the returned message views point into it or into the input. */
struct ovg_frame_scratch {
	uint8_t *buf;
	size_t cap;
};

/* Receive one UDP packet: decrypt (if kr->n > 0; plaintext is then refused
 * with -EACCES), verify CRC when present (-EBADMSG on mismatch), decompress,
 * flatten (nested) compounds into msgs (each view starts with its type byte).
 * Label headers (244) give -EPROTONOSUPPORT. */
int ovg_packet_open(const struct ovg_keyring *kr, const uint8_t *pkt, size_t len,
		    struct ovg_frame_scratch *scratch, struct ovg_bytes *msgs,
		    size_t max, size_t *n);

/* Seal a packet: payload (a message or compound) -> optional CRC -> encrypt
 * with the primary key if kr->n > 0 (nonce given). */
int ovg_packet_seal(const struct ovg_keyring *kr, const uint8_t nonce[OVG_NONCE_LEN],
		    bool add_crc, const uint8_t *payload, size_t len, uint8_t *out,
		    size_t cap, size_t *out_len);

/* How many bytes the next stream message takes, from what has arrived so far:
 * 0 with *frame_len set; -EAGAIN need more bytes; -EBADMSG malformed;
 * -EMSGSIZE over OVG_STREAM_MAX. */
int ovg_stream_frame_len(const uint8_t *buf, size_t len, size_t *frame_len);

/* Open one complete stream message (as measured above): decrypt if 0a
 * (refuse plaintext with -EACCES when kr->n > 0), decompress if 09; *plain
 * is the message starting with its type byte (6 push-pull, 8 user, 13 err). */
int ovg_stream_open(const struct ovg_keyring *kr, const uint8_t *buf, size_t len,
		    struct ovg_frame_scratch *scratch, struct ovg_bytes *plain);

/* Seal a stream message: optional LZW compress, then encrypt if kr->n > 0. */
int ovg_stream_seal(const struct ovg_keyring *kr, const uint8_t nonce[OVG_NONCE_LEN],
		    bool compress, const uint8_t *msg, size_t len,
		    struct ovg_frame_scratch *scratch, uint8_t *out, size_t cap,
		    size_t *out_len);

#endif
