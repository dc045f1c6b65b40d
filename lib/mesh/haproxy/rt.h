/*
 * rt.h - a client for HAProxy's runtime API (the admin "stats
 * socket" each sidecar opens): one command per connection, bounded reply,
 * deadline. Weight changes, server enable/disable and `show stat` happen
 * here, because reloads of Debian's HAProxy 2.6.12 can crash the old worker
 * under load: the mesh changes state at runtime instead.
 *
 * All functions return 0 or -1 with errno set (ETIMEDOUT, E2BIG when the
 * reply is over the cap, EPROTO when HAProxy answered with an error; the
 * reply text is then in hrt_last_error()).
 */
#ifndef CONFORM_HAPROXY_RT_H
#define CONFORM_HAPROXY_RT_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define HRT_REPLY_MAX (1024 * 1024)
#define HRT_TIMEOUT_MS 2000

/*
 * Send cmd (one line, no newline inside, < 4 KiB) to the socket at
 * sock_path and append the whole reply to out (whose cap bounds it).
 * timeout_ms <= 0 means HRT_TIMEOUT_MS.
 */
int hrt_cmd(const char *sock_path, const char *cmd, int timeout_ms, struct dynbuf *out);

/* `set weight BACKEND/SERVER W` (0..256). */
int hrt_set_weight(const char *sock_path, const char *backend, const char *server, int weight);
/* `get weight BACKEND/SERVER`: current and initial weight. */
int hrt_get_weight(const char *sock_path, const char *backend, const char *server,
		   int *current, int *initial);
/* `enable server` / `disable server` BACKEND/SERVER (maintenance mode). */
int hrt_set_server_enabled(const char *sock_path, const char *backend, const char *server,
			   int enabled);

/* One row of `show stat` (frontends, backends and servers alike). */
struct hrt_stat {
	char proxy[64];       /* pxname */
	char server[64];      /* svname: a server, FRONTEND or BACKEND */
	char status[32];      /* UP, DOWN, MAINT, OPEN, no check ... */
	int64_t weight;       /* -1 when the column is empty */
	int64_t scur;
	int64_t stot;
	int64_t hrsp_5xx;
	int64_t wretr;        /* retries; HAProxy 2.6.12 counts each L7 retry
			       * twice here: prefer %rc from the tap feed */
	int64_t req_tot;      /* HTTP requests (frontends, backends) */
	int64_t ssl_failed_handshake; /* frontends with TLS; -1 elsewhere */
};

/*
 * Parse `show stat` CSV text: the "# pxname,svname,..." header names the
 * columns (their order is not assumed), then one row per line. Fills at most
 * max rows and sets *n. Rows with a bad number or a field too long make it
 * fail. req_tot and ssl_failed_handshake are optional columns (-1 when
 * absent). Returns 0, or -1 (EPROTO: no/invalid header or bad row; E2BIG: more
 * than max rows).
 */
int hrt_parse_stat(const char *csv, size_t len, struct hrt_stat *rows, size_t max, size_t *n);

/* `show stat` on the socket, parsed. */
int hrt_show_stat(const char *sock_path, struct hrt_stat *rows, size_t max, size_t *n);

/* The rows' entry for proxy/server, or NULL. */
const struct hrt_stat *hrt_stat_find(const struct hrt_stat *rows, size_t n,
				     const char *proxy, const char *server);

/* Seconds since the HAProxy process started (`show info` Uptime_sec): a
 * smaller value than last time means it restarted and counters reset. */
int hrt_uptime_s(const char *sock_path, int64_t *uptime_s);

const char *hrt_last_error(void);

/*
 * Read the answer of `show ssl cert <crt>`: the subject CN (cn, bounded) and
 * notAfter (unix s). 0, or -1 when either is missing or malformed.
 */
int hrt_parse_show_cert(const char *text, char *cn, size_t cnlen, int64_t *not_after);

#endif
