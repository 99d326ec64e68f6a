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

/* Go compress/lzw, LSB order, literal width 8. The encoder writes what current
 * Go writes (leading clear code; byte-identical to serf's own streams);
 * the decoder takes streams with or without the leading clear, a table that
 * fills up without a clear, and ignores bytes after the end code.
 * 0, -EBADMSG corrupt stream (bad code, no end code), -ENOSPC output over cap,
 * -ENOMEM (the coder's tables are heap-allocated per call, ~20-64 KiB). */
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

/* Receive one UDP packet: decrypt (if kr && kr->n > 0), verify CRC when byte 0
 * is 12 (-EBADMSG on mismatch), decompress, flatten (nested) compounds into
 * msgs (each view starts with its type byte; views point into pkt or scratch).
 * Any other type, known or not, is handed out as it is for ovg_wire_decode.
 * Empty compound parts are dropped. At most 4 compound/compress levels.
 * Returns 0, or:
 *   -EACCES   keyed and the packet does not decrypt with any key (plaintext,
 *             foreign key, damaged or too short);
 *   -EBADMSG  empty, CRC mismatch, malformed compound/compress, LZW corrupt,
 *             nested too deep;
 *   -EPROTONOSUPPORT label header (244) or compress Algo other than LZW;
 *   -ENOSPC   more than max messages, or scratch too small (64 KiB + the
 *             largest decompressed payload is plenty for UDP);
 *   -EMSGSIZE a compound was cut short by its sender.
 * On any error *n messages (the complete ones before it) are still valid;
 * after -EMSGSIZE memberlist handles them, so callers should too. */
int ovg_packet_open(const struct ovg_keyring *kr, const uint8_t *pkt, size_t len,
		    struct ovg_frame_scratch *scratch, struct ovg_bytes *msgs,
		    size_t max, size_t *n);

/* Seal a packet: payload (a message or compound) -> optional CRC -> encrypt
 * with the primary key if kr && kr->n > 0 (nonce given). out needs len + 5
 * (CRC) + 29 (encryption); payload may overlap out only when not encrypting.
 * 0, -EINVAL empty, -EMSGSIZE over OVG_UDP_RECV_MAX, -ENOSPC. */
int ovg_packet_seal(const struct ovg_keyring *kr, const uint8_t nonce[OVG_NONCE_LEN],
		    bool add_crc, const uint8_t *payload, size_t len, uint8_t *out,
		    size_t cap, size_t *out_len);

/* How many bytes the next stream message takes, from what has arrived so far:
 * 0 with *frame_len set; -EAGAIN need more bytes (*frame_len is then a lower
 * bound on the total, > len: no need to call again before that much is in);
 * -EBADMSG malformed (also 07/0c, which only packets use); -EPROTONOSUPPORT a
 * label header; -EMSGSIZE over OVG_STREAM_MAX (declared lengths are checked as
 * soon as their headers arrive). Walks msgpack: 06 push-pull (header, Nodes
 * node maps, UserStateLen bytes), 08 user ({UserMsgLen} + bytes), 0a encrypted
 * (5 + be32 length), other types up to 13 one map (ping/ack on TCP, 09, 0d). */
int ovg_stream_frame_len(const uint8_t *buf, size_t len, size_t *frame_len);

/* Open one complete stream message (as measured above): decrypt if 0a
 * (associated data = its 5-byte header; the frame must be exactly 5 + length),
 * decompress if 09; *plain is the message starting with its type byte (6
 * push-pull, 8 user, 13 err, 0/2 TCP ping/ack), in buf or scratch.
 * 0; -EACCES plaintext while keyed, encrypted while not keyed, or no key
 * opens it; -EBADMSG malformed, empty or nested framing (07, 09, 0a, 0c inside);
 * -EPROTONOSUPPORT label or unknown Algo; -EMSGSIZE length over the limit;
 * -ENOSPC scratch too small (decompressed output is capped at OVG_LZW_OUT_MAX). */
int ovg_stream_open(const struct ovg_keyring *kr, const uint8_t *buf, size_t len,
		    struct ovg_frame_scratch *scratch, struct ovg_bytes *plain);

/* Seal a stream message: optional LZW compress (09 | {Algo: 0, Buf}, exactly
 * as memberlist writes it), then encrypt if kr && kr->n > 0. Scratch holds the
 * compressed message when both are on (worst case ~1.5 x len + 32); without
 * encryption the result is built in out directly. msg must not overlap out or
 * scratch. 0, -EINVAL empty, -EMSGSIZE over OVG_STREAM_MAX, -ENOSPC. */
int ovg_stream_seal(const struct ovg_keyring *kr, const uint8_t nonce[OVG_NONCE_LEN],
		    bool compress, const uint8_t *msg, size_t len,
		    struct ovg_frame_scratch *scratch, uint8_t *out, size_t cap,
		    size_t *out_len);

#endif
