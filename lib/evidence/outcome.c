/*
 * outcome.c - the single table mapping request outcomes to names, human
 * wording and success. Reasons in verdicts are built from this wording.
 */
#include "evidence/outcome.h"

#include <string.h>

#include "base/util.h"

static const struct outcome_info outcomes[OUT__COUNT] = {
	{ OUT_OK, "ok", "succeeded", 1 },
	{ OUT_HTTP_5XX, "http_5xx", "HTTP 5xx from server", 0 },
	{ OUT_HTTP_4XX, "http_4xx", "HTTP 4xx from server", 0 },
	{ OUT_HTTP_OTHER, "http_other", "unexpected HTTP status", 0 },
	{ OUT_GRPC_ERROR, "grpc_error", "gRPC error status", 0 },
	{ OUT_TIMEOUT, "timeout", "client deadline exceeded", 0 },
	{ OUT_CONNECT_REFUSED, "connect_refused", "connection refused", 0 },
	{ OUT_CONNECT_FAILED, "connect_failed", "could not connect", 0 },
	{ OUT_TLS_FAILED, "tls_failed", "TLS handshake failed", 0 },
	{ OUT_RESET, "reset", "connection reset mid-request", 0 },
	{ OUT_PROTOCOL, "protocol", "malformed response", 0 },
	{ OUT_STREAM_LOST, "stream_lost", "stream message never echoed", 0 },
	{ OUT_STREAM_RESET, "stream_reset", "long-lived stream broke", 0 },
	{ OUT_CLIENT_OVERLOAD, "client_overload", "client could not send on time", 0 },
	{ OUT_OTHER, "other", "other failure", 0 },
};

int outcome_valid(unsigned o)
{
	return o < OUT__COUNT;
}

const struct outcome_info *outcome_info(unsigned o)
{
	return outcome_valid(o) ? &outcomes[o] : &outcomes[OUT_OTHER];
}

int outcome_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(outcomes); i++)
		if (!strcmp(outcomes[i].name, name))
			return (int)outcomes[i].id;
	return -1;
}
