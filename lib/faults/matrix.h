/*
 * matrix.h - the isolation matrix: for every fault kind (on the target the
 * row names), the checks it must fail, the checks it may fail (their
 * precondition breaks in a way the evidence cannot yet tell from their own
 * promise, said in why), and by omission every other check, which must stay
 * passing or inconclusive. `conform fault --help`, the man page and the
 * mesh fault test (test/e2e/mesh_faults.sh, through test/tools/faultmatrix)
 * all read it; two faults at once fail the union of their rows.
 */
#ifndef CONFORM_FAULT_MATRIX_H
#define CONFORM_FAULT_MATRIX_H

#include <stddef.h>

#include "faults/kinds.h"

struct fault_row {
	enum fault_kind kind;
	const char *only;       /* the one mesh the row is for; NULL: every mesh's */
	const char *target;     /* "http-server" */
	const char *args;       /* extra `conform fault` arguments, "" for none */
	const char *fails;      /* comma-separated check ids that must fail */
	const char *may;        /* comma-separated check ids allowed to fail, "" */
	const char *why;        /* why those may fail; "" without */
};

/*
 * The rows of mesh's matrix, one a call: start with *i = 0, NULL after the
 * last. Linkerd's differ where its adapter applies a fault otherwise
 * (docs/linkerd.md, "Faults") and have none for the kinds it refuses; every
 * other mesh has the local reference mesh's (mesh NULL: those too).
 */
const struct fault_row *fault_matrix_next(const char *mesh, size_t *i);

/*
 * The checks kind must fail, from its rows on the local mesh: "http.basic (on http-server)",
 * rows joined by "; ", into buf (truncated to len); "" when it has no row.
 * Returns buf.
 */
const char *fault_kind_breaks(enum fault_kind kind, char *buf, size_t len);

/* Is check id in the comma-separated list? */
int fault_list_has(const char *list, const char *id);

#endif
