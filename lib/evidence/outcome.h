/*
 * outcome.h - how a single request ended, as a precise enum, and the one
 * table that maps each to its name, its human wording and whether it counts
 * as success. Numbers are on the wire (Bucket.outcome): append only.
 */
#ifndef CONFORM_OUTCOME_H
#define CONFORM_OUTCOME_H

enum outcome {
	OUT_OK = 0,             /* answered 2xx / gRPC OK */
	OUT_HTTP_5XX = 1,       /* HTTP 500-599; code holds the status */
	OUT_HTTP_4XX = 2,       /* HTTP 400-499 */
	OUT_HTTP_OTHER = 3,     /* 1xx/3xx or unparsable status */
	OUT_GRPC_ERROR = 4,     /* non-OK gRPC status; code holds it */
	OUT_TIMEOUT = 5,        /* client deadline passed */
	OUT_CONNECT_REFUSED = 6,/* TCP RST on connect */
	OUT_CONNECT_FAILED = 7, /* other connect error (unreachable, DNS) */
	OUT_TLS_FAILED = 8,     /* handshake or verification failed */
	OUT_RESET = 9,          /* connection reset / closed mid-request */
	OUT_PROTOCOL = 10,      /* malformed answer (bad JSON, bad protobuf) */
	OUT_STREAM_LOST = 11,   /* stream message sent, never echoed */
	OUT_STREAM_RESET = 12,  /* a long-lived stream broke (count = breaks) */
	OUT_CLIENT_OVERLOAD = 13,/* client could not send on time (too many in flight) */
	OUT_OTHER = 14,
	OUT__COUNT
};

struct outcome_info {
	enum outcome id;
	const char *name;   /* stable, lower_snake: "http_5xx" */
	const char *human;  /* "HTTP 5xx from server" */
	int ok;             /* counts as a successful request */
};

/* Info for an outcome; a valid entry for OUT_OTHER if o is out of range. */
const struct outcome_info *outcome_info(unsigned o);
int outcome_valid(unsigned o);
/* Outcome by name, or -1. */
int outcome_by_name(const char *name);

#endif
