/*
 * fixture.h - the store fixtures several unit tests share: a temporary
 * directory of numbered store files, one stored agg row per call, and the
 * 40 s run of the report tests (http.basic healthy, grpc.basic failing with
 * UNAVAILABLE in windows 1-2). Each test is one .c file and one binary, so
 * everything here is static.
 */
#ifndef CONFORM_TEST_FIXTURE_H
#define CONFORM_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/evaluate.h"
#include "evidence/outcome.h"
#include "store/store.h"
#include "base/util.h"

#define T0 1763784660   /* 2025-11-22T04:11:00Z: a run start, a whole second */

/* The test's temporary directory (fixture_tmpdir_make) and how many stores
 * fixture_store_open has opened in it: store i is "<fixture_tmpdir>/<i>.db". */
static char fixture_tmpdir[64];
static int fixture_ndb;

/* Creates /tmp/conform-test-<name>-XXXXXX as fixture_tmpdir. 0 or -1. */
static inline int fixture_tmpdir_make(const char *name)
{
	snprintf(fixture_tmpdir, sizeof(fixture_tmpdir), "/tmp/conform-test-%s-XXXXXX", name);
	return mkdtemp(fixture_tmpdir) ? 0 : -1;
}

/* The same in /dev/shm when it is there (tmpfs: the store's fsync per commit
 * costs nothing), else in /tmp: for tests that write hundreds of thousands
 * of rows and judge what is built from them, not their durability. */
static inline int fixture_tmpdir_make_fast(const char *name)
{
	snprintf(fixture_tmpdir, sizeof(fixture_tmpdir), "/dev/shm/conform-test-%s-XXXXXX", name);
	if (mkdtemp(fixture_tmpdir))
		return 0;
	return fixture_tmpdir_make(name);
}

/* Removes fixture_tmpdir and all in it; failures are ignored. */
static inline void fixture_tmpdir_remove(void)
{
	char cmd[128];
	int rc;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture_tmpdir);
	rc = system(cmd);
	(void)rc;
}

/* Opens (creates) the next numbered store of fixture_tmpdir; the caller
 * closes it with store_close. NULL, with the error on stderr, on failure. */
static inline struct store *fixture_store_open(void)
{
	struct store *s = NULL;
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/%d.db", fixture_tmpdir, fixture_ndb++);
	if (store_open(path, 1, &s, err, sizeof(err))) {
		fprintf(stderr, "store_open: %s\n", err);
		return NULL;
	}
	return s;
}

/* Stores one agg row of workload wl as batch (42, seq): count requests of
 * one outcome at second sec from backend "v1", latencies lat_us + 0..900 us.
 * 0 or -1. */
static inline int fixture_put(struct store *s, const char *wl, uint64_t seq, const char *check,
			      unsigned outcome, int code, int64_t sec, uint64_t count,
			      uint64_t lat_us)
{
	struct agg_row r;
	uint64_t i;

	memset(&r, 0, sizeof(r));
	str_copy(r.check, sizeof(r.check), check);
	r.outcome = outcome;
	r.code = code;
	str_copy(r.backend, sizeof(r.backend), "v1");
	r.second = sec;
	hist_init(&r.h);
	for (i = 0; i < count; i++)
		hist_add(&r.h, lat_us + (i % 10) * 100);
	return store_put_batch(s, wl, 42, seq, &r, 1) == 1 ? 0 : -1;
}

/* fixture_put() of 9 gRPC UNAVAILABLE requests at second sec (no backend),
 * one of them kept as a sample in the same batch. 0 or -1. */
static inline int fixture_put_sampled(struct store *s, const char *wl, uint64_t seq, int64_t sec)
{
	struct agg_row r;
	struct store_sample sm;
	uint64_t i;

	memset(&r, 0, sizeof(r));
	str_copy(r.check, sizeof(r.check), "grpc.basic");
	r.outcome = OUT_GRPC_ERROR;
	r.code = 14;
	r.second = sec;
	hist_init(&r.h);
	for (i = 0; i < 9; i++)
		hist_add(&r.h, 300 + (i % 10) * 100);
	memset(&sm, 0, sizeof(sm));
	str_copy(sm.check, sizeof(sm.check), "grpc.basic");
	str_fmt(sm.request_id, sizeof(sm.request_id), "grpc.basic.grpc-client.2a.%d.%lld",
		(int)(sec - T0) * 10, (long long)sec * 1000 + 100);
	sm.outcome = OUT_GRPC_ERROR;
	sm.code = 14;
	sm.latency_us = 1234;
	sm.ts_ms = sec * 1000 + 100;
	return store_put_batch_samples(s, wl, 42, seq, &r, 1, &sm, 1) == 1 ? 0 : -1;
}

/* Run config defaults with the fixed run id, started at T0, duration_ms long. */
static inline void fixture_config(struct run_config *c, int64_t duration_ms)
{
	run_config_defaults(c);
	str_copy(c->id, sizeof(c->id), "20251122-041100-3fa2");
	c->started = T0;
	c->duration_ms = duration_ms;
}

/* Opens the next store and records c's run in it, under mesh (NULL: c->mesh)
 * and with c as config JSON when with_json (else "{}"). The caller closes
 * the store; NULL on failure. */
static inline struct store *fixture_run_store(const struct run_config *c, const char *mesh,
					      int with_json)
{
	struct store *s = fixture_store_open();
	struct store_run run;
	char *json = NULL;
	int rc;

	if (!s)
		return NULL;
	memset(&run, 0, sizeof(run));
	str_copy(run.id, sizeof(run.id), c->id);
	str_copy(run.platform, sizeof(run.platform), c->platform);
	str_copy(run.mesh, sizeof(run.mesh), mesh ? mesh : c->mesh);
	run.started = c->started;
	run.window_ms = c->window_ms;
	run.duration_ms = c->duration_ms;
	if (with_json)
		json = run_config_to_json(c);
	str_copy(run.config_json, sizeof(run.config_json), json ? json : "{}");
	free(json);
	rc = store_put_run(s, &run);
	if (rc) {
		store_close(s);
		return NULL;
	}
	return s;
}

/*
 * The 40 s run (4 windows of 10 s) of the report tests, not yet evaluated:
 * c is set to it (http.basic and grpc.basic selected, grpc.stream not), and
 * the store holds the run (as fixture_run_store) and 10 http.basic requests
 * a second, all 200; grpc.basic 10 OK a second except 9 UNAVAILABLE + 1 OK
 * in [T0+10, T0+30), the first 3 seconds of it with a sample when sampled.
 * The caller closes the store; NULL on failure.
 */
static inline struct store *fixture_store40(struct run_config *c, const char *mesh,
					    int with_json, int sampled)
{
	struct store *s;
	uint64_t seq = 0;
	int64_t t;

	fixture_config(c, 40000);
	c->nchecks = 2;
	str_copy(c->checks[0], sizeof(c->checks[0]), "http.basic");
	str_copy(c->checks[1], sizeof(c->checks[1]), "grpc.basic");
	s = fixture_run_store(c, mesh, with_json);
	if (!s)
		return NULL;
	for (t = T0; t < T0 + 40; t++) {
		if (fixture_put(s, "http-client", ++seq, "http.basic", OUT_OK, 200, t, 10, 1500))
			goto fail;
		if (sampled && t >= T0 + 10 && t < T0 + 13) {
			/* a failing request kept as a sample, in the batch's transaction */
			if (fixture_put_sampled(s, "grpc-client", ++seq, t) ||
			    fixture_put(s, "grpc-client", ++seq, "grpc.basic", OUT_OK, 0, t, 1, 900))
				goto fail;
		} else if (t >= T0 + 10 && t < T0 + 30) {
			if (fixture_put(s, "grpc-client", ++seq, "grpc.basic", OUT_GRPC_ERROR, 14, t,
					9, 300) ||
			    fixture_put(s, "grpc-client", ++seq, "grpc.basic", OUT_OK, 0, t, 1, 900))
				goto fail;
		} else if (fixture_put(s, "grpc-client", ++seq, "grpc.basic", OUT_OK, 0, t, 10,
				       900)) {
			goto fail;
		}
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

/* The collector's counters of the 40 s run: one resent batch (an empty
 * repeat of http-client's batch 1) and one rejected batch. 0 or -1. */
static inline int fixture_put_resent(struct store *s)
{
	if (store_put_batch(s, "http-client", 42, 1, NULL, 0) != 0 ||
	    store_counter_add(s, "batches.rejected", 1))
		return -1;
	return 0;
}

/* The events of the 40 s run, with characters that need escaping. 0 or -1. */
static inline int fixture_put_events(struct store *s)
{
	if (store_put_event(s, T0 + 0.5, "run.start", "", "traffic started") ||
	    store_put_event(s, T0 + 10.2, "fault.start", "grpc-server",
			    "server-errors rate=0.9 code=14 <\"all\" & 'more'> | pipe") ||
	    store_put_event(s, T0 + 30.1, "fault.end", "grpc-server", "server-errors ended"))
		return -1;
	return 0;
}

/* Evaluates the 40 s run: when ended, the run ends at T0+40 and every window
 * is final; else the due windows at time now. 0 or -1. */
static inline int fixture_evaluate40(struct store *s, const struct run_config *c, int ended,
				     double now)
{
	int64_t next = 0;

	if (ended)
		return store_set_run_ended(s, T0 + 40) ||
		       evaluate_due(s, c, T0 + 41, 2, 1, T0 + 40, &next) ? -1 : 0;
	return evaluate_due(s, c, now, 2, 0, 0, &next) ? -1 : 0;
}

#endif
