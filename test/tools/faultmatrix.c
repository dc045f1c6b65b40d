/*
 * faultmatrix.c - prints the isolation matrix (lib/faults/matrix.c) for the
 * test scripts, one row per line, fields separated by '|':
 *   kind|target|args|fails|may
 * so test/e2e/mesh_faults.sh asserts the table the CLI documents, not a copy.
 */
#include <stdio.h>

#include "faults/matrix.h"

int main(void)
{
	size_t i;

	for (i = 0; i < fault_matrix_n; i++) {
		const struct fault_row *r = &fault_matrix[i];

		printf("%s|%s|%s|%s|%s\n", fault_kind_name(r->kind), r->target, r->args, r->fails,
		       r->may);
	}
	return 0;
}
