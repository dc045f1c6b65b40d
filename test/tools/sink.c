/*
 * sink.c - a tiny stand-alone collector for tests: serves
 * conform.v1.Collector/Report on 127.0.0.1:0 through lib/collector, writes
 * the port to --port-file, counts what it receives (deduplicated by
 * (workload, instance, seq)) and on SIGTERM/SIGINT prints one line per
 * (workload, check) and a stats line on stdout, then exits 0.
 *   sink --port-file F [--listen ADDR:PORT]   token from CONFORM_TOKEN
 * (--listen defaults to 127.0.0.1:0; a fixed port lets a test restart it.)
 */
#include "ingest/collector.h"
#include "evidence/outcome.h"
#include "base/util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINK_MAX 256
#define SINK_SEEN_MAX 200000

struct sink_total {
	char workload[64];
	char check[32];
	uint64_t requests, ok, failed;
};

struct sink_seen {
	uint64_t instance, seq, wl_hash;
};

static struct sink_total totals[SINK_MAX];
static size_t ntotals;
static struct sink_seen *seen;
static size_t nseen;

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* Called on the collector thread only: no locking needed. */
static int sink_commit(void *ctx, const char *workload, uint64_t instance, uint64_t seq,
		       const struct agg_row *rows, size_t n, const struct store_sample *samples,
		       size_t nsamples)
{
	uint64_t wh = str_hash(workload);
	size_t i, j;

	(void)ctx;
	(void)samples;
	(void)nsamples;
	for (i = 0; i < nseen; i++)
		if (seen[i].instance == instance && seen[i].seq == seq && seen[i].wl_hash == wh)
			return 0;
	if (nseen == SINK_SEEN_MAX)
		return -1;
	seen[nseen].instance = instance;
	seen[nseen].seq = seq;
	seen[nseen].wl_hash = wh;
	nseen++;
	for (i = 0; i < n; i++) {
		struct sink_total *t = NULL;

		for (j = 0; j < ntotals; j++)
			if (!strcmp(totals[j].workload, workload) && !strcmp(totals[j].check, rows[i].check))
				t = &totals[j];
		if (!t) {
			if (ntotals == SINK_MAX)
				return -1;
			t = &totals[ntotals++];
			str_copy(t->workload, sizeof(t->workload), workload);
			str_copy(t->check, sizeof(t->check), rows[i].check);
		}
		t->requests += rows[i].h.count;
		if (outcome_info(rows[i].outcome)->ok)
			t->ok += rows[i].h.count;
		else
			t->failed += rows[i].h.count;
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *listen = "127.0.0.1:0", *tok = getenv("CONFORM_TOKEN");
	struct collector *c;
	struct collector_stats st;
	char err[256], buf[32];
	sigset_t sigs;
	int port, sig, i;
	size_t k;

	log_init("sink", LOG_INFO);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port-file") && i + 1 < argc) {
			port_file = argv[++i];
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen = argv[++i];
		} else {
			fprintf(stderr, "usage: sink --port-file F [--listen ADDR:PORT]  (token from CONFORM_TOKEN)\n");
			return 2;
		}
	}
	if (!port_file || !tok || !*tok) {
		fprintf(stderr, "sink: --port-file and CONFORM_TOKEN are required\n");
		return 2;
	}
	seen = calloc(SINK_SEEN_MAX, sizeof(*seen));
	if (!seen)
		return 1;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	c = collector_start(listen, tok, sink_commit, NULL, &port, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "sink: %s\n", err);
		free(seen);
		return 1;
	}
	str_fmt(buf, sizeof(buf), "%d\n", port);
	if (file_write_atomic(port_file, buf, strlen(buf), 0644) < 0) {
		fprintf(stderr, "sink: cannot write %s\n", port_file);
		collector_stop(c);
		free(seen);
		return 1;
	}
	sigwait(&sigs, &sig);
	collector_get_stats(c, &st);
	collector_stop(c);   /* joins the collector thread: totals are final */
	for (k = 0; k < ntotals; k++)
		printf("sink workload=%s check=%s requests=%llu ok=%llu failed=%llu\n",
		       totals[k].workload, totals[k].check, (unsigned long long)totals[k].requests,
		       (unsigned long long)totals[k].ok, (unsigned long long)totals[k].failed);
	printf("sink stats batches=%llu duplicates=%llu rejected=%llu streams=%llu\n",
	       (unsigned long long)st.batches, (unsigned long long)st.duplicates,
	       (unsigned long long)st.rejected, (unsigned long long)st.streams);
	fflush(stdout);
	free(seen);
	return 0;
}
