/*
 * tap.h - the local mesh's tap feed: the HAProxy log-format every sidecar
 * emits (one line per request, one per refused connection), a bounded strict
 * parser for those lines, and a UDP receiver for `log ADDR format raw`.
 *
 * The format and the parser live together so they cannot drift apart.
 * A request line is 19 space-separated fields:
 *   ctap1 req TS_US PROXY DIR RID SRC DST BACKEND SERVER METHOD PATH
 *         STATUS TA_MS RETRIES TERM CLIENT_ID SERVER_ID .
 * a connection-error line (TLS handshake refused, ...) 9 fields:
 *   ctap1 err TS_US PROXY DIR SRC DST ERROR .
 * RID, CLIENT_ID, SERVER_ID and ERROR are URL-encoded by HAProxy (url_enc)
 * and decoded here; "-" means absent. The final "." guards against lines
 * HAProxy truncated.
 */
#ifndef CONFORM_TAP_H
#define CONFORM_TAP_H

#include <stddef.h>
#include <stdint.h>

#define TAP_LINE_MAX 2048        /* longer lines are rejected */
#define TAP_RCVBUF (8 * 1024 * 1024)

enum tap_dir { TAP_DIR_IN, TAP_DIR_OUT };
enum tap_kind { TAP_KIND_REQUEST, TAP_KIND_CONN_ERROR };

struct tap_record {
	enum tap_kind kind;
	enum tap_dir dir;
	int64_t ts_us;            /* unix microseconds when HAProxy logged */
	char proxy[64];           /* frontend name, identifies the sidecar */
	char request_id[129];     /* x-request-id, "" when absent */
	char src[64];             /* client ip:port as the sidecar saw it */
	char dst[64];             /* server ip:port (err: the listener) */
	char backend[64];
	char server[64];          /* "<NOSRV>" when no server was chosen */
	char method[16];
	char path[1024];          /* path without query string */
	int status;               /* HTTP status, -1 when none */
	int64_t latency_ms;       /* %Ta: request received to response done */
	int retries;              /* %rc */
	int redispatched;         /* %rc had a '+' */
	char term_state[3];       /* %ts, e.g. "--", "sH", "cD" */
	char client_id[256];      /* verified peer identity (inbound) */
	char server_id[256];      /* verified server identity (outbound) */
	char error[128];          /* err lines: HAProxy's connection error */
};

/*
 * The log-format / error-log-format strings for a sidecar in direction dir.
 * They expect the frontend to set txn.rid and txn.path (see cfg.c):
 *   http-request set-var(txn.rid) req.fhdr(x-request-id),url_enc
 *   http-request set-var(txn.path) path
 * Static strings; never NULL.
 */
const char *tap_log_format(enum tap_dir dir);
const char *tap_error_log_format(enum tap_dir dir);

/*
 * Parse one line (len bytes, not necessarily NUL-terminated; one trailing
 * "\n" is allowed). Returns 0 and fills *out, or -1 when the line is too
 * long, has a wrong field count, a bad number, a non-printable byte, or a
 * field over its size. *out is cleared first in every case.
 */
int tap_parse_line(const char *line, size_t len, struct tap_record *out);

const char *tap_dir_str(enum tap_dir dir);

/*
 * Bind a non-blocking UDP socket on addr ("IP:PORT", port 0 = any) with an
 * SO_RCVBUF of TAP_RCVBUF (forced when privileged, else as large as the
 * kernel allows). Returns the fd (the caller closes it) and the bound port in
 * *port, or -1.
 */
int tap_listen(const char *addr, int *port);

struct tap_stats {
	uint64_t datagrams;
	uint64_t parsed;
	uint64_t rejected;
};

typedef void (*tap_record_cb)(const struct tap_record *rec, void *ctx);

/*
 * Drain what is queued on fd (at most 4096 datagrams per call so a flood
 * cannot starve the caller), parse each and call cb for every good record.
 * Bad lines are counted in st->rejected (st may be NULL). Returns the number
 * of records delivered, or -1 on a socket error other than EAGAIN.
 */
int tap_read_nonblock(int fd, tap_record_cb cb, void *ctx, struct tap_stats *st);

#endif
