/*
 * viewer.c - the mesh's own view (mesh_ops.view) read on a thread of its
 * own. A scrape goes through the API server to every proxy and can take as
 * long as the adapter's client timeouts allow; on the main loop it would
 * hold back the heartbeat, evaluation, faults' expiry and the split's shift
 * for that long. The main loop asks at each window boundary and takes the
 * answer on a later tick; the store is written only by the main loop.
 */
#include "viewer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct viewer {
	const struct mesh_ops *mops;
	struct mesh *mesh;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int asked;                 /* an ask not yet answered (taken by the thread or not) */
	int answered;              /* an answer waits for viewer_take */
	int stop;
	double at;                 /* when the ask was made (the caller's clock) */
	int rc;
	struct mesh_view v;
	char err[512];
};

static void *viewer_main(void *arg)
{
	struct viewer *w = arg;
	struct mesh_view v;
	char err[512];
	int rc;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && !(w->asked && !w->answered))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		err[0] = '\0';
		rc = w->mops->view(w->mesh, &v, err, sizeof(err));
		pthread_mutex_lock(&w->mu);
		w->rc = rc;
		w->v = v;
		str_copy(w->err, sizeof(w->err), err);
		w->answered = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int viewer_start(const struct mesh_ops *mops, struct mesh *mesh, struct viewer **out)
{
	struct viewer *w;

	*out = NULL;
	if (!mops->view)
		return -ENOTSUP;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->mops = mops;
	w->mesh = mesh;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, viewer_main, w)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -EAGAIN;
	}
	*out = w;
	return 0;
}

int viewer_ask(struct viewer *w, double at)
{
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	if (w->asked) {
		rc = -EBUSY;   /* the last ask is still being answered, or its answer not taken */
	} else {
		w->asked = 1;
		w->at = at;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int viewer_take(struct viewer *w, int *rc, struct mesh_view *out, char *err, size_t errlen,
		double *at)
{
	int got = 0;

	pthread_mutex_lock(&w->mu);
	if (w->answered) {
		*rc = w->rc;
		*out = w->v;
		*at = w->at;
		str_copy(err, errlen, w->err);
		w->answered = 0;
		w->asked = 0;
		got = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return got;
}

void viewer_stop(struct viewer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
