/*
 * viewer.h - mesh_ops.view on a thread of its own, asked by the main loop
 * once per window and answered on a later tick (viewer.c says why).
 */
#ifndef CONFORMD_VIEWER_H
#define CONFORMD_VIEWER_H

#include <stddef.h>

#include "evidence/meshview.h"
#include "mesh/mesh.h"

struct viewer;

/* A thread that calls mops->view(mesh) when asked. 0; -ENOTSUP when the
 * mesh has no view; -ENOMEM or -EAGAIN. */
int viewer_start(const struct mesh_ops *mops, struct mesh *mesh, struct viewer **out);

/* Ask for a view; at (the caller's clock) comes back with the answer.
 * 0, or -EBUSY while the last ask is unanswered or its answer untaken. */
int viewer_ask(struct viewer *w, double at);

/* 1 with the answer to the last ask (view's return code, the view, its
 * err text, the ask's time) once it is there; 0 before. */
int viewer_take(struct viewer *w, int *rc, struct mesh_view *out, char *err, size_t errlen,
		double *at);

/* End the thread: a view in flight is finished first (bounded by the
 * adapter's client timeouts). NULL is a no-op. */
void viewer_stop(struct viewer *w);

#endif
