/*
 * proto/ throughput on one core: a ~200-byte gossip packet (compound of an
 * alive, a suspect and a ping; CRC; AES-256-GCM) built and sealed, then opened
 * and decoded; plus LZW and CRC rates. Run by `make bench`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ovg/frame.h"
#include "ovg/wire.h"

#define MIN_SECONDS 1.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *what, int rc)
{
	fprintf(stderr, "bench_proto: %s failed: %d\n", what, rc);
	exit(1);
}

static uint8_t addr4[4] = { 10, 77, 46, 11 };
static const char meta[] = "\xff\x82\xa4role\xa5" "agent\xa3" "dcs\xa8" "eu-west1";
static struct ovg_keyring kr;
static uint8_t nonce[OVG_NONCE_LEN];

/* (a) encode three messages, compound them, CRC and encrypt */
static size_t build_packet(uint32_t seq, uint8_t *pkt, size_t cap)
{
	struct ovg_msg m[3];
	uint8_t buf[3][256], compound[1024];
	struct ovg_bytes parts[3];
	size_t n, used, plen;
	int rc;

	memset(m, 0, sizeof(m));
	m[0].type = OVG_MSG_ALIVE;
	m[0].u.alive.incarnation = seq;
	m[0].u.alive.node = ovg_bytes_make("node-0042", 9);
	m[0].u.alive.addr = ovg_bytes_make(addr4, 4);
	m[0].u.alive.port = 7946;
	m[0].u.alive.meta = ovg_bytes_make(meta, sizeof(meta) - 1);
	m[0].u.alive.vsn_len = 0;
	m[1].type = OVG_MSG_SUSPECT;
	m[1].u.suspect.incarnation = seq;
	m[1].u.suspect.node = ovg_bytes_make("node-0017", 9);
	m[1].u.suspect.from = ovg_bytes_make("node-0003", 9);
	m[2].type = OVG_MSG_PING;
	m[2].u.ping.seq_no = seq;
	m[2].u.ping.node = ovg_bytes_make("node-0099", 9);
	for (int i = 0; i < 3; i++) {
		rc = ovg_wire_encode(&m[i], buf[i], sizeof(buf[i]), &n);
		if (rc)
			fail("wire_encode", rc);
		parts[i] = ovg_bytes_make(buf[i], n);
	}
	rc = ovg_compound_build(parts, 3, OVG_UDP_MAX - OVG_CRYPT_OVERHEAD - 5, compound,
				sizeof(compound), &plen, &used);
	if (rc || used != 3)
		fail("compound_build", rc);
	nonce[0] = (uint8_t)seq;    /* the daemon draws random nonces */
	rc = ovg_packet_seal(&kr, nonce, true, compound, plen, pkt, cap, &n);
	if (rc)
		fail("packet_seal", rc);
	return n;
}

/* (b) decrypt, check CRC, split, decode every message */
static void open_packet(const uint8_t *pkt, size_t len, struct ovg_frame_scratch *s)
{
	struct ovg_bytes msgs[8];
	struct ovg_msg m;
	size_t n = 0;
	int rc = ovg_packet_open(&kr, pkt, len, s, msgs, 8, &n);

	if (rc || n != 3)
		fail("packet_open", rc);
	for (size_t i = 0; i < n; i++) {
		rc = ovg_wire_decode(msgs[i].p, msgs[i].len, &m);
		if (rc)
			fail("wire_decode", rc);
	}
}

int main(void)
{
	static uint8_t pkt[2048], scratch_buf[OVG_UDP_RECV_MAX * 2];
	static uint8_t big[1 << 20], lzw[(1 << 20) * 2], back[1 << 20];
	struct ovg_frame_scratch s = { scratch_buf, sizeof(scratch_buf) };
	volatile uint32_t sink = 0;
	size_t len = 0;
	uint64_t iters;
	double t0, dt;

	if (!ovg_crypt_available()) {
		fprintf(stderr, "bench_proto: AES-256-GCM not available on this CPU\n");
		return 1;
	}
	kr.n = 2;
	for (int i = 0; i < OVG_KEY_LEN; i++) {
		kr.keys[0][i] = (uint8_t)i;
		kr.keys[1][i] = (uint8_t)(i * 3);
	}
	len = build_packet(1, pkt, sizeof(pkt));

	iters = 0;
	t0 = now_s();
	do {
		for (int k = 0; k < 10000; k++)
			sink += (uint32_t)build_packet((uint32_t)iters + (uint32_t)k, pkt, sizeof(pkt));
		iters += 10000;
		dt = now_s() - t0;
	} while (dt < MIN_SECONDS);
	printf("proto: encode+encrypt %zuB packet: %.0f pkt/s/core\n", len, (double)iters / dt);

	len = build_packet(7, pkt, sizeof(pkt));
	iters = 0;
	t0 = now_s();
	do {
		for (int k = 0; k < 10000; k++)
			open_packet(pkt, len, &s);
		iters += 10000;
		dt = now_s() - t0;
	} while (dt < MIN_SECONDS);
	printf("proto: decrypt+decode %zuB packet: %.0f pkt/s/core\n", len, (double)iters / dt);
	{
		double rate = (double)iters / dt;
		if (rate < 500000)
			printf("proto: WARNING decrypt+decode below the 500000 pkt/s/core target\n");
	}

	/* a packet under a secondary key costs one failed tag check more */
	{
		struct ovg_keyring one = kr;
		memcpy(one.keys[0], kr.keys[1], OVG_KEY_LEN);
		memcpy(one.keys[1], kr.keys[0], OVG_KEY_LEN);
		iters = 0;
		t0 = now_s();
		do {
			for (int k = 0; k < 10000; k++) {
				struct ovg_bytes msgs[8];
				size_t n = 0;
				if (ovg_packet_open(&one, pkt, len, &s, msgs, 8, &n))
					fail("packet_open (secondary key)", -1);
			}
			iters += 10000;
			dt = now_s() - t0;
		} while (dt < MIN_SECONDS / 2);
		printf("proto: decrypt (2nd key) %zuB packet: %.0f pkt/s/core\n", len,
		       (double)iters / dt);
	}

	/* LZW on push-pull-like text and CRC-32 on bulk data */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)("\x87\xa4" "Addr\xa4\n\x00\x00\x01\xabIncarnation\x01\xa4Meta\xc0"
				   "\xa4Name\xa6node-1\xa4Port\xcd\x1f\x0a\xa5State\x00"[i % 61] + (i / 4096) % 3);
	{
		size_t ln = 0, bn = 0;
		iters = 0;
		t0 = now_s();
		do {
			if (ovg_lzw_encode(big, sizeof(big), lzw, sizeof(lzw), &ln))
				fail("lzw_encode", -1);
			iters++;
			dt = now_s() - t0;
		} while (dt < MIN_SECONDS / 2);
		printf("proto: lzw encode: %.0f MB/s (ratio %.2f)\n",
		       (double)iters * sizeof(big) / dt / 1e6, (double)ln / sizeof(big));
		iters = 0;
		t0 = now_s();
		do {
			if (ovg_lzw_decode(lzw, ln, back, sizeof(back), &bn) || bn != sizeof(big))
				fail("lzw_decode", -1);
			iters++;
			dt = now_s() - t0;
		} while (dt < MIN_SECONDS / 2);
		printf("proto: lzw decode: %.0f MB/s\n", (double)iters * sizeof(big) / dt / 1e6);
	}
	iters = 0;
	t0 = now_s();
	do {
		sink += ovg_crc32(big, sizeof(big));
		iters++;
		dt = now_s() - t0;
	} while (dt < MIN_SECONDS / 2);
	printf("proto: crc32: %.0f MB/s\n", (double)iters * sizeof(big) / dt / 1e6);
	(void)sink;
	return 0;
}
