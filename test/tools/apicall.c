/*
 * apicall.c - one request to conformd's API through the CLI's own client
 * (lib/control/apiclient.c), on either kind of endpoint, for the e2e tests:
 *
 *   apicall --unix SOCKET METHOD PATH [BODY]
 *   apicall --url BASE_URL --token TOKEN METHOD PATH [BODY]
 *
 * Prints "status N" and the body on stdout. Exit 0 when an answer came
 * (whatever its status), 1 when none did (the reason on stderr), 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "control/apiclient.h"

static int usage(void)
{
	fputs("usage: apicall --unix SOCKET METHOD PATH [BODY]\n"
	      "       apicall --url BASE_URL --token TOKEN METHOD PATH [BODY]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct api_endpoint ep;
	struct api_response resp;
	char err[512];
	int i;

	if (argc >= 5 && !strcmp(argv[1], "--unix")) {
		if (api_endpoint_unix(&ep, argv[2], err, sizeof(err)) < 0)
			goto bad;
		i = 3;
	} else if (argc >= 7 && !strcmp(argv[1], "--url") && !strcmp(argv[3], "--token")) {
		if (api_endpoint_http(&ep, argv[2], argv[4], err, sizeof(err)) < 0)
			goto bad;
		i = 5;
	} else {
		return usage();
	}
	if (argc - i < 2 || argc - i > 3)
		return usage();
	if (api_call(&ep, argv[i], argv[i + 1], argc - i == 3 ? argv[i + 2] : NULL, 5000, &resp,
		     err, sizeof(err)) < 0) {
		fprintf(stderr, "apicall: %s: %s\n", api_endpoint_name(&ep), err);
		return 1;
	}
	printf("status %ld\n%s", resp.status, resp.body);
	api_response_release(&resp);
	return 0;
bad:
	fprintf(stderr, "apicall: %s\n", err);
	return 2;
}
