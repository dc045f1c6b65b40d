/*
 * faultmatrix.c - prints the isolation matrix (lib/faults/matrix.c) for the
 * test scripts, one row per line, fields separated by '|':
 *   kind|target|args|fails|may
 * so test/e2e/mesh_faults.sh asserts the table the CLI documents, not a copy.
 *   faultmatrix [--mesh M]   (M's matrix, fault_matrix_next; default the local one)
 */
#include <stdio.h>
#include <string.h>

#include "faults/matrix.h"

int main(int argc, char **argv)
{
	const struct fault_row *r;
	const char *mesh = NULL;
	size_t i = 0;

	if (argc == 3 && !strcmp(argv[1], "--mesh")) {
		mesh = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: faultmatrix [--mesh M]\n");
		return 2;
	}
	while ((r = fault_matrix_next(mesh, &i)))
		printf("%s|%s|%s|%s|%s\n", fault_kind_name(r->kind), r->target, r->args, r->fails,
		       r->may);
	return 0;
}
