/*
 * CRC-32/IEEE (reflected, polynomial 0xEDB88320, init and final xor ~0),
 * as Go's hash/crc32.ChecksumIEEE computes it for memberlist's hasCrc
 * message. Slice-by-8: eight 256-entry tables, eight input bytes per step.
 */
#include "ovg/frame.h"

static uint32_t crc_tab[8][256];

/* Tables are filled once before main(), so ovg_crc32() needs no lock. */
__attribute__((constructor)) static void crc32_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = crc_tab[0][i];
		for (int t = 1; t < 8; t++) {
			c = (c >> 8) ^ crc_tab[0][c & 0xff];
			crc_tab[t][i] = c;
		}
	}
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint32_t ovg_crc32(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	while (len >= 8) {
		uint32_t a = load_le32(p) ^ c;
		uint32_t b = load_le32(p + 4);
		c = crc_tab[7][a & 0xff] ^ crc_tab[6][(a >> 8) & 0xff] ^
		    crc_tab[5][(a >> 16) & 0xff] ^ crc_tab[4][a >> 24] ^
		    crc_tab[3][b & 0xff] ^ crc_tab[2][(b >> 8) & 0xff] ^
		    crc_tab[1][(b >> 16) & 0xff] ^ crc_tab[0][b >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xff];
	return c ^ 0xffffffffu;
}
