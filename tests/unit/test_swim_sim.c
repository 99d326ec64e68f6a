/* gossip/swim.c at cluster scale on the fake network: convergence, failure
 * detection time and false positives under loss, with the default config.
 * Prints the measured numbers (SWIMSIM lines). */
#include "test_swim_net.h"

#define N 20

START_TEST(twenty_nodes_converge_after_joining_through_one_seed)
{
	static struct net n;
	uint64_t t0;

	net_init(&n, 100);
	for (int i = 0; i < N; i++)
		net_add(&n);
	for (int i = 1; i < N; i++)
		net_join(&n, i, 0);
	t0 = n.now;
	while (!net_converged(&n, N) && n.now - t0 < 10000)
		net_run(&n, n.now + 10);
	ck_assert(net_converged(&n, N));
	printf("SWIMSIM converge n=%d through one seed: %llu ms\n", N,
	       (unsigned long long)(n.now - t0));
	ck_assert_uint_lt(n.now - t0, 2000);
	/* and it stays that way */
	net_run(&n, n.now + 20000);
	ck_assert(net_converged(&n, N));
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_SUSPECT, NULL), 0);
	net_free(&n);
}
END_TEST

/* Kill one node of a converged cluster; return the time until the last live
 * member marked it dead (0 if some never did within 10 s). */
static uint64_t detect_once(struct net *n, int victim)
{
	uint64_t t_kill = n->now, worst = 0;
	char name[32];

	snprintf(name, sizeof(name), "%s", n->nodes[victim].name);
	net_kill(n, victim);
	net_run(n, n->now + 10000);
	for (int i = 0; i < n->n; i++) {
		uint64_t t;
		if (!n->nodes[i].up)
			continue;
		t = net_first_event(n, i, OVG_SWIM_EV_DEAD, name, t_kill);
		if (t == 0)
			return 0;
		worst = OVG_MAX(worst, t - t_kill);
	}
	return worst;
}

static void detection_trials(double loss, int trials, uint64_t seed0, uint64_t bound_ms)
{
	static struct net n;
	uint64_t sum = 0, worst = 0, samples[64];

	for (int t = 0; t < trials; t++) {
		uint64_t d;
		int victim;

		net_init(&n, seed0 + (uint64_t)t);
		net_cluster(&n, N, 40000);
		n.loss = loss;
		n.tcp_loss = 1.0 - (1.0 - loss) * (1.0 - loss) * (1.0 - loss) * (1.0 - loss);
		net_run(&n, n.now + 3000 + ovg_splitmix_next(&n.rng) % 1000);
		victim = 1 + (int)(ovg_splitmix_next(&n.rng) % (N - 1));
		d = detect_once(&n, victim);
		ck_assert_msg(d > 0, "seed %llu: not every member declared the victim dead",
			      (unsigned long long)(seed0 + (uint64_t)t));
		samples[t] = d;
		sum += d;
		worst = OVG_MAX(worst, d);
		for (int i = 0; i < N; i++)
			if (i != victim)
				ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_DEAD, NULL), 1);
		net_free(&n);
	}
	printf("SWIMSIM detect n=%d loss=%.0f%% trials=%d: mean %llu ms, max %llu ms (all members)\n",
	       N, loss * 100, trials, (unsigned long long)(sum / (uint64_t)trials),
	       (unsigned long long)worst);
	for (int t = 0; t < trials; t++)
		ck_assert_msg(samples[t] < bound_ms, "seed %llu: %llu ms >= %llu ms",
			      (unsigned long long)(seed0 + (uint64_t)t),
			      (unsigned long long)samples[t], (unsigned long long)bound_ms);
}

START_TEST(killed_node_is_declared_dead_by_all_within_three_seconds)
{
	detection_trials(0.0, 30, 1000, 3000);
}
END_TEST

START_TEST(killed_node_is_declared_dead_by_all_at_ten_percent_loss)
{
	/* reported, with a looser bound: loss delays suspicion and confirmations */
	detection_trials(0.10, 20, 2000, 6000);
}
END_TEST

START_TEST(ten_percent_loss_for_five_minutes_gives_no_false_dead)
{
	static struct net n;
	struct ovg_swim_stats st;
	uint64_t suspects = 0, refutes = 0, failed = 0, probes = 0, dead = 0;

	for (uint64_t seed = 300; seed < 302; seed++) {
		net_init(&n, seed);
		net_cluster(&n, N, 40000);
		n.loss = 0.10;
		n.tcp_loss = 1.0 - 0.9 * 0.9 * 0.9 * 0.9;   /* SYN, SYN-ACK, ping, ack */
		net_run(&n, n.now + 300000);
		for (int i = 0; i < N; i++) {
			ovg_swim_get_stats(n.nodes[i].s, &st);
			suspects += st.suspects_started;
			refutes += st.refutes;
			failed += st.probes_failed;
			probes += st.probes;
			dead += net_count_events(&n, i, OVG_SWIM_EV_DEAD, NULL);
		}
		ck_assert_msg(net_converged(&n, N), "seed %llu: not converged after 5 min",
			      (unsigned long long)seed);
		printf("SWIMSIM loss=10%% n=%d 300 s seed=%llu: packets %llu (lost %llu)\n", N,
		       (unsigned long long)seed, (unsigned long long)n.pkts_sent,
		       (unsigned long long)n.pkts_lost);
		net_free(&n);
	}
	printf("SWIMSIM loss=10%% n=%d 2 x 300 s: probes %llu, failed %llu, suspicion "
	       "starts (all members) %llu, refutes %llu, false dead %llu\n",
	       N, (unsigned long long)probes, (unsigned long long)failed,
	       (unsigned long long)suspects, (unsigned long long)refutes,
	       (unsigned long long)dead);
	ck_assert_uint_eq(dead, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("swim_sim");
	TCase *tc = tcase_create("cluster");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, twenty_nodes_converge_after_joining_through_one_seed);
	tcase_add_test(tc, killed_node_is_declared_dead_by_all_within_three_seconds);
	tcase_add_test(tc, killed_node_is_declared_dead_by_all_at_ten_percent_loss);
	tcase_add_test(tc, ten_percent_loss_for_five_minutes_gives_no_false_dead);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
