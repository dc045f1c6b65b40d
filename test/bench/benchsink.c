/*
 * benchsink.c - the collector end of `make bench`: serves
 * conform.v1.Collector/Report through lib/collector on 127.0.0.1:0, writes
 * the port to a file, and on SIGTERM prints per (workload, check) what the
 * clients achieved: requests, ok, client overloads, the seconds spanned and
 * latency percentiles from the merged histograms.
 *   benchsink PORT_FILE        token from CONFORM_TOKEN
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/collector.h"
#include "evidence/hist.h"
#include "evidence/outcome.h"
#include "base/util.h"

#define BS_MAX 64

struct bs_total {
	char workload[64];
	char check[32];
	uint64_t requests, ok, overload;
	int64_t first_s, last_s;
	struct hist h;      /* latency of requests that were sent */
};

static struct bs_total totals[BS_MAX];
static size_t ntotals;

/* Called on the collector thread only. Batches are counted once: a resend
 * after a reconnect is rare in a bench and would only add. */
static int bs_commit(void *ctx, const char *workload, uint64_t instance, uint64_t seq,
		     const struct agg_row *rows, size_t n, const struct store_sample *samples,
		     size_t nsamples)
{
	size_t i, j;

	(void)ctx;
	(void)samples;
	(void)nsamples;
	(void)instance;
	(void)seq;
	for (i = 0; i < n; i++) {
		struct bs_total *t = NULL;

		for (j = 0; j < ntotals; j++)
			if (!strcmp(totals[j].workload, workload) &&
			    !strcmp(totals[j].check, rows[i].check))
				t = &totals[j];
		if (!t) {
			if (ntotals == BS_MAX)
				return -1;
			t = &totals[ntotals++];
			str_copy(t->workload, sizeof(t->workload), workload);
			str_copy(t->check, sizeof(t->check), rows[i].check);
			hist_init(&t->h);
			t->first_s = rows[i].second;
			t->last_s = rows[i].second;
		}
		t->requests += rows[i].h.count;
		if (outcome_info(rows[i].outcome)->ok)
			t->ok += rows[i].h.count;
		if (rows[i].outcome == OUT_CLIENT_OVERLOAD)
			t->overload += rows[i].h.count;
		else
			hist_merge(&t->h, &rows[i].h);
		if (rows[i].second < t->first_s)
			t->first_s = rows[i].second;
		if (rows[i].second > t->last_s)
			t->last_s = rows[i].second;
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char *tok = getenv("CONFORM_TOKEN");
	struct collector *c;
	char err[256], buf[32];
	sigset_t sigs;
	int port, sig;
	size_t k;

	log_init("benchsink", LOG_WARN);
	if (argc != 2 || !tok || !*tok) {
		fprintf(stderr, "usage: benchsink PORT_FILE  (token from CONFORM_TOKEN)\n");
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	c = collector_start("127.0.0.1:0", tok, bs_commit, NULL, &port, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "benchsink: %s\n", err);
		return 1;
	}
	str_fmt(buf, sizeof(buf), "%d\n", port);
	if (file_write_atomic(argv[1], buf, strlen(buf), 0644) < 0) {
		fprintf(stderr, "benchsink: cannot write %s\n", argv[1]);
		collector_stop(c);
		return 1;
	}
	sigwait(&sigs, &sig);
	collector_stop(c);   /* joins the collector thread: totals are final */
	for (k = 0; k < ntotals; k++) {
		const struct bs_total *t = &totals[k];

		printf("benchsink workload=%s check=%s requests=%" PRIu64 " ok=%" PRIu64
		       " overload=%" PRIu64 " seconds=%" PRId64 " p50_us=%" PRIu64
		       " p99_us=%" PRIu64 " max_us=%" PRIu64 "\n",
		       t->workload, t->check, t->requests, t->ok, t->overload,
		       t->last_s - t->first_s + 1, hist_quantile(&t->h, 0.5),
		       hist_quantile(&t->h, 0.99), t->h.max_us);
	}
	fflush(stdout);
	return 0;
}
