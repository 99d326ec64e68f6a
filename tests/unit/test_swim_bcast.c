/* gossip/bcast.c: the transmit-limited broadcast queue behind SWIM gossip. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "gossip/bcast.h"

static uint8_t buf[4096];
static struct ovg_bytes views[256];

static void push_str(struct ovg_bcast_queue *q, const char *s, struct ovg_bcast **owner)
{
	ck_assert_int_eq(ovg_bcast_push(q, (const uint8_t *)s, strlen(s), owner, false, false), 0);
}

static bool taken_has(size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (views[i].len == strlen(s) && memcmp(views[i].p, s, views[i].len) == 0)
			return true;
	return false;
}

START_TEST(newer_news_about_a_member_replaces_the_queued_older_news)
{
	struct ovg_bcast_queue q;
	struct ovg_bcast *owner_a = NULL, *owner_b = NULL;
	size_t n;

	ovg_bcast_init(&q, 100);
	push_str(&q, "alive-a-1", &owner_a);
	push_str(&q, "alive-b-1", &owner_b);
	push_str(&q, "suspect-a-1", &owner_a);
	push_str(&q, "alive-a-2", &owner_a);
	ck_assert_uint_eq(q.n, 2);
	n = ovg_bcast_take(&q, 10, 2, 1000, buf, sizeof(buf), views, 256);
	ck_assert_uint_eq(n, 2);
	ck_assert(taken_has(n, "alive-a-2"));
	ck_assert(taken_has(n, "alive-b-1"));
	ck_assert(!taken_has(n, "alive-a-1"));
	ck_assert(!taken_has(n, "suspect-a-1"));
	/* unnamed items never replace each other */
	push_str(&q, "user", NULL);
	push_str(&q, "user", NULL);
	ck_assert_uint_eq(q.n, 4);
	ovg_bcast_free(&q);
	ck_assert_ptr_null(owner_a);
	ck_assert_ptr_null(owner_b);
}
END_TEST

START_TEST(queue_is_bounded_and_drops_the_most_transmitted_oldest_first)
{
	struct ovg_bcast_queue q;
	char s[32];
	size_t n;

	ovg_bcast_init(&q, 8);
	for (int i = 0; i < 4; i++) {
		snprintf(s, sizeof(s), "old-%d", i);
		push_str(&q, s, NULL);
	}
	/* send the old ones once: they move to transmit tier 1 */
	n = ovg_bcast_take(&q, 10, 2, 1000, buf, sizeof(buf), views, 256);
	ck_assert_uint_eq(n, 4);
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof(s), "new-%d", i);
		push_str(&q, s, NULL);
		ck_assert_uint_le(q.n, 8);
	}
	ck_assert_uint_eq(q.n, 8);
	ck_assert_uint_eq(q.dropped, 96);
	n = ovg_bcast_take(&q, 10, 2, 4000, buf, sizeof(buf), views, 256);
	ck_assert_uint_eq(n, 8);
	for (int i = 0; i < 4; i++) {
		snprintf(s, sizeof(s), "old-%d", i);
		ck_assert(!taken_has(n, s));   /* the sent ones went first */
	}
	ck_assert(taken_has(n, "new-99"));
	ck_assert(taken_has(n, "new-92"));
	ck_assert(!taken_has(n, "new-91"));
	ovg_bcast_free(&q);
}
END_TEST

START_TEST(items_retire_at_the_transmit_limit_and_fresh_ones_go_first)
{
	struct ovg_bcast_queue q;
	size_t n;

	ovg_bcast_init(&q, 100);
	push_str(&q, "first", NULL);
	for (int i = 0; i < 3; i++) {
		n = ovg_bcast_take(&q, 3, 2, 1000, buf, sizeof(buf), views, 256);
		ck_assert_uint_eq(n, 1);
	}
	ck_assert_uint_eq(q.n, 0);
	ck_assert_uint_eq(ovg_bcast_take(&q, 3, 2, 1000, buf, sizeof(buf), views, 256), 0);

	/* budget for one message only: the least transmitted wins */
	push_str(&q, "aaaa", NULL);
	ovg_bcast_take(&q, 5, 2, 1000, buf, sizeof(buf), views, 256);
	push_str(&q, "bbbb", NULL);
	n = ovg_bcast_take(&q, 5, 2, 6, buf, sizeof(buf), views, 256);
	ck_assert_uint_eq(n, 1);
	ck_assert(taken_has(n, "bbbb"));
	ovg_bcast_free(&q);
}
END_TEST

START_TEST(take_respects_the_byte_budget_and_skips_what_does_not_fit)
{
	struct ovg_bcast_queue q;
	uint8_t big[600];
	size_t n, total = 0;

	memset(big, 'x', sizeof(big));
	ovg_bcast_init(&q, 100);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ovg_bcast_push(&q, big, sizeof(big), NULL, false, false), 0);
	push_str(&q, "small", NULL);
	n = ovg_bcast_take(&q, 10, 2, 1366, buf, sizeof(buf), views, 256);
	for (size_t i = 0; i < n; i++)
		total += 2 + views[i].len;
	ck_assert_uint_le(total, 1366);
	ck_assert_uint_eq(n, 3);          /* two big ones and the small one */
	ck_assert(taken_has(n, "small"));
	ck_assert_int_eq(ovg_bcast_push(&q, buf, OVG_BCAST_MSG_MAX + 1, NULL, false, false),
			 -EMSGSIZE);
	ovg_bcast_free(&q);
}
END_TEST

static int finished;
static void on_finish(void *ctx, struct ovg_bcast *b)
{
	(void)ctx;
	(void)b;
	finished++;
}

START_TEST(eager_batch_takes_fresh_items_once_and_charges_each_send)
{
	struct ovg_bcast_queue q;
	struct ovg_bcast *items[16];
	struct ovg_bcast *owner = NULL;
	size_t n;

	ovg_bcast_init(&q, 100);
	q.on_finish = on_finish;
	finished = 0;
	ck_assert_int_eq(ovg_bcast_push(&q, (const uint8_t *)"e1", 2, NULL, true, false), 0);
	ck_assert_int_eq(ovg_bcast_push(&q, (const uint8_t *)"e2", 2, &owner, true, true), 0);
	ck_assert_int_eq(ovg_bcast_push(&q, (const uint8_t *)"q3", 2, NULL, false, false), 0);
	ck_assert_uint_eq(q.n_eager, 2);
	n = ovg_bcast_take_eager(&q, 2, 1000, buf, sizeof(buf), views, items, 16);
	ck_assert_uint_eq(n, 2);                       /* newest first: e2, e1 */
	ck_assert(views[0].len == 2 && memcmp(views[0].p, "e2", 2) == 0);
	ck_assert_uint_eq(q.n_eager, 0);
	ck_assert_uint_eq(ovg_bcast_take_eager(&q, 2, 1000, buf, sizeof(buf), views, items, 16),
			  0);                          /* pushed once only */
	/* e1 sent to 3 peers with a limit of 3: retired */
	ovg_bcast_charge(&q, &items[1], 1, 3, 3);
	ck_assert_uint_eq(q.n, 2);
	ck_assert_int_eq(finished, 0);
	ck_assert_int_eq(ovg_bcast_push(&q, (const uint8_t *)"e4", 2, &owner, true, true), 0);
	ck_assert_int_eq(finished, 1);                 /* e2 replaced by e4 */
	n = ovg_bcast_take_eager(&q, 2, 1000, buf, sizeof(buf), views, items, 16);
	ck_assert_uint_eq(n, 1);
	ovg_bcast_charge(&q, items, n, 3, 3);
	ck_assert_int_eq(finished, 2);
	ck_assert_ptr_null(owner);
	ck_assert_uint_eq(q.n, 1);                     /* q3 */
	ovg_bcast_free(&q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("swim_bcast");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, newer_news_about_a_member_replaces_the_queued_older_news);
	tcase_add_test(tc, queue_is_bounded_and_drops_the_most_transmitted_oldest_first);
	tcase_add_test(tc, items_retire_at_the_transmit_limit_and_fresh_ones_go_first);
	tcase_add_test(tc, take_respects_the_byte_budget_and_skips_what_does_not_fit);
	tcase_add_test(tc, eager_batch_takes_fresh_items_once_and_charges_each_send);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
