/*
 * rt.c - talks to a sidecar's runtime API over its unix socket: one
 * command, one bounded reply. The mesh adapter shifts weights and reads
 * counters with it instead of reloading HAProxy.
 */
#include "mesh/haproxy/rt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static _Thread_local char hrt_err[256];

const char *hrt_last_error(void)
{
	return hrt_err;
}

static int hrt_wait(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int hrt_cmd(const char *sock_path, const char *cmd, int timeout_ms, struct dynbuf *out)
{
	struct sockaddr_un sa;
	char line[4096 + 2];
	size_t len, off = 0;
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : HRT_TIMEOUT_MS);
	int fd = -1, rc = -1, saved;

	hrt_err[0] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (!sock_path || !cmd || str_copy(sa.sun_path, sizeof(sa.sun_path), sock_path) ||
	    strchr(cmd, '\n') || strchr(cmd, '\r') ||
	    str_fmt(line, sizeof(line), "%s\n", cmd) || !out) {
		errno = EINVAL;
		return -1;
	}
	len = strlen(line);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno != EAGAIN && errno != EINPROGRESS)
			goto out;
		if (hrt_wait(fd, POLLOUT, deadline))
			goto out;
	}
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (hrt_wait(fd, POLLOUT, deadline))
				goto out;
			continue;
		}
		if (n < 0)
			goto out;
		off += (size_t)n;
	}
	/* non-interactive mode: HAProxy answers and closes */
	for (;;) {
		char buf[8192];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0)
			break;
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (hrt_wait(fd, POLLIN, deadline))
				goto out;
			continue;
		}
		if (n < 0)
			goto out;
		if (dynbuf_add(out, buf, (size_t)n)) {
			errno = E2BIG;
			goto out;
		}
	}
	rc = 0;
out:
	saved = errno;
	close(fd);
	if (rc)
		str_fmt(hrt_err, sizeof(hrt_err), "%s: %s", sock_path, strerror(saved));
	errno = saved;
	return rc;
}

static int hrt_name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* Commands that answer nothing on success and a message on failure. */
static int hrt_cmd_quiet(const char *sock_path, const char *cmd)
{
	struct dynbuf r = DYNBUF_INIT(4096);
	int rc = -1;

	if (hrt_cmd(sock_path, cmd, 0, &r))
		goto out;
	for (size_t i = 0; i < r.len; i++) {
		if (r.buf[i] != '\n' && r.buf[i] != ' ') {
			size_t l = strcspn(r.buf + i, "\n");

			str_fmt(hrt_err, sizeof(hrt_err), "%s: %.*s", cmd,
				(int)(l < 160 ? l : 160), r.buf + i);
			errno = EPROTO;
			goto out;
		}
	}
	rc = 0;
out:
	dynbuf_release(&r);
	return rc;
}

int hrt_set_weight(const char *sock_path, const char *backend, const char *server, int weight)
{
	char cmd[192];

	if (!hrt_name_ok(backend) || !hrt_name_ok(server) || weight < 0 || weight > 256) {
		errno = EINVAL;
		return -1;
	}
	str_fmt(cmd, sizeof(cmd), "set weight %s/%s %d", backend, server, weight);
	return hrt_cmd_quiet(sock_path, cmd);
}

int hrt_set_server_enabled(const char *sock_path, const char *backend, const char *server,
			   int enabled)
{
	char cmd[192];

	if (!hrt_name_ok(backend) || !hrt_name_ok(server)) {
		errno = EINVAL;
		return -1;
	}
	str_fmt(cmd, sizeof(cmd), "%s server %s/%s", enabled ? "enable" : "disable",
		backend, server);
	return hrt_cmd_quiet(sock_path, cmd);
}

int hrt_get_weight(const char *sock_path, const char *backend, const char *server,
		   int *current, int *initial)
{
	struct dynbuf r = DYNBUF_INIT(4096);
	char cmd[192], a[16], b[16];
	int64_t cur, ini;
	int rc = -1;

	if (!hrt_name_ok(backend) || !hrt_name_ok(server)) {
		errno = EINVAL;
		return -1;
	}
	str_fmt(cmd, sizeof(cmd), "get weight %s/%s", backend, server);
	if (hrt_cmd(sock_path, cmd, 0, &r))
		goto out;
	/* "90 (initial 90)\n" */
	if (r.len == 0 || r.len > 64 ||
	    sscanf(r.buf, "%15[0-9] (initial %15[0-9])", a, b) != 2 ||
	    parse_i64(a, 0, 256, &cur) || parse_i64(b, 0, 256, &ini)) {
		str_fmt(hrt_err, sizeof(hrt_err), "%s: unexpected reply", cmd);
		errno = EPROTO;
		goto out;
	}
	if (current)
		*current = (int)cur;
	if (initial)
		*initial = (int)ini;
	rc = 0;
out:
	dynbuf_release(&r);
	return rc;
}

/* ---- show stat ---- */

#define HRT_MAX_COLS 256

/*
 * Split one CSV line in place into at most max fields (quotes per RFC 4180,
 * as HAProxy's csv_enc writes them). Returns the field count or -1.
 */
static int hrt_csv_split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *w;

		if (n == max)
			return -1;
		if (*p == '"') {
			f[n++] = w = ++p;
			for (;;) {
				if (*p == '\0')
					return -1;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			*w = '\0';
			if (*p == '\0')
				return n;
			if (*p != ',')
				return -1;
			p++;
		} else {
			f[n++] = p;
			p += strcspn(p, ",");
			if (*p == '\0')
				return n;
			*p++ = '\0';
		}
	}
}

/* required columns, then optional ones (-1 when HAProxy lacks them) */
enum { C_PX, C_SV, C_STATUS, C_WEIGHT, C_SCUR, C_STOT, C_5XX, C_WRETR, C_REQUIRED,
       C_REQ_TOT = C_REQUIRED, C_SSL_FAIL, C_N };
static const char *const hrt_cols[C_N] = {
	"pxname", "svname", "status", "weight", "scur", "stot", "hrsp_5xx", "wretr",
	"req_tot", "ssl_failed_handshake",
};

static int hrt_num(const char *s, int64_t *out)
{
	if (!*s) {
		*out = -1;   /* not applicable for this row type */
		return 0;
	}
	return parse_i64(s, 0, INT64_MAX, out);
}

int hrt_parse_stat(const char *csv, size_t len, struct hrt_stat *rows, size_t max, size_t *n)
{
	char *copy = NULL, *line, *next;
	char *f[HRT_MAX_COLS];
	int col[C_N], nf, header = 0, rc = -1;

	*n = 0;
	if (!csv || len > HRT_REPLY_MAX) {
		errno = EINVAL;
		return -1;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, csv, len);
	copy[len] = '\0';
	if (memchr(copy, '\0', len)) {
		errno = EPROTO;
		goto out;
	}
	for (line = copy; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == '\0')
			continue;
		if (!header) {
			if (strncmp(line, "# ", 2))
				break;   /* not `show stat` output */
			nf = hrt_csv_split(line + 2, f, HRT_MAX_COLS);
			for (int c = 0; c < C_N; c++) {
				col[c] = -1;
				for (int i = 0; i < nf; i++)
					if (!strcmp(f[i], hrt_cols[c]))
						col[c] = i;
				if (col[c] < 0 && c < C_REQUIRED)
					goto proto;
			}
			header = 1;
			continue;
		}
		nf = hrt_csv_split(line, f, HRT_MAX_COLS);
		if (nf < 0)
			goto proto;
		for (int c = 0; c < C_REQUIRED; c++)
			if (col[c] >= nf)
				goto proto;
		if (*n == max) {
			errno = E2BIG;
			goto out;
		}
		{
			struct hrt_stat *r = &rows[*n];

			memset(r, 0, sizeof(*r));
			if (str_copy(r->proxy, sizeof(r->proxy), f[col[C_PX]]) ||
			    str_copy(r->server, sizeof(r->server), f[col[C_SV]]) ||
			    str_copy(r->status, sizeof(r->status), f[col[C_STATUS]]) ||
			    hrt_num(f[col[C_WEIGHT]], &r->weight) ||
			    hrt_num(f[col[C_SCUR]], &r->scur) ||
			    hrt_num(f[col[C_STOT]], &r->stot) ||
			    hrt_num(f[col[C_5XX]], &r->hrsp_5xx) ||
			    hrt_num(f[col[C_WRETR]], &r->wretr) ||
			    hrt_num(col[C_REQ_TOT] >= 0 && col[C_REQ_TOT] < nf ?
				    f[col[C_REQ_TOT]] : "", &r->req_tot) ||
			    hrt_num(col[C_SSL_FAIL] >= 0 && col[C_SSL_FAIL] < nf ?
				    f[col[C_SSL_FAIL]] : "", &r->ssl_failed_handshake))
				goto proto;
			(*n)++;
		}
	}
	if (!header)
		goto proto;
	rc = 0;
	goto out;
proto:
	str_copy(hrt_err, sizeof(hrt_err), "show stat: unexpected csv");
	errno = EPROTO;
out:
	free(copy);
	return rc;
}

int hrt_show_stat(const char *sock_path, struct hrt_stat *rows, size_t max, size_t *n)
{
	struct dynbuf r = DYNBUF_INIT(HRT_REPLY_MAX);
	int rc = -1;

	*n = 0;
	if (hrt_cmd(sock_path, "show stat", 0, &r))
		goto out;
	rc = hrt_parse_stat(r.buf ? r.buf : "", r.len, rows, max, n);
out:
	dynbuf_release(&r);
	return rc;
}

const struct hrt_stat *hrt_stat_find(const struct hrt_stat *rows, size_t n,
				     const char *proxy, const char *server)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].proxy, proxy) && !strcmp(rows[i].server, server))
			return &rows[i];
	return NULL;
}

int hrt_uptime_s(const char *sock_path, int64_t *uptime_s)
{
	struct dynbuf r = DYNBUF_INIT(64 * 1024);
	const char *p;
	char num[24];
	size_t n;
	int rc = -1;

	if (hrt_cmd(sock_path, "show info", 0, &r))
		goto out;
	p = r.buf ? strstr(r.buf, "\nUptime_sec: ") : NULL;
	if (!p) {
		str_copy(hrt_err, sizeof(hrt_err), "show info: no Uptime_sec");
		errno = EPROTO;
		goto out;
	}
	p += strlen("\nUptime_sec: ");
	n = strcspn(p, "\n");
	if (n == 0 || n >= sizeof(num)) {
		errno = EPROTO;
		goto out;
	}
	memcpy(num, p, n);
	num[n] = '\0';
	if (parse_i64(num, 0, INT64_MAX, uptime_s)) {
		errno = EPROTO;
		goto out;
	}
	rc = 0;
out:
	dynbuf_release(&r);
	return rc;
}

int hrt_parse_show_cert(const char *text, char *cn, size_t cnlen, int64_t *not_after)
{
	const char *p = text;
	int have_cn = 0, have_na = 0;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (n && line[n - 1] == '\r')
				line[n - 1] = '\0';
			if (!strncmp(line, "notAfter: ", 10)) {
				struct tm tm;
				char *end;

				memset(&tm, 0, sizeof(tm));
				end = strptime(line + 10, "%b %d %H:%M:%S %Y", &tm);
				if (end && (!*end || !strcmp(end, " GMT"))) {
					*not_after = (int64_t)timegm(&tm);
					have_na = 1;
				}
			} else if (!strncmp(line, "Subject: ", 9)) {
				/* "/CN=name" possibly among other RDNs */
				const char *c = strstr(line + 9, "CN=");

				if (c) {
					size_t l = strcspn(c + 3, "/,");

					if (l > 0 && l < cnlen) {
						memcpy(cn, c + 3, l);
						cn[l] = '\0';
						have_cn = 1;
					}
				}
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return have_cn && have_na ? 0 : -1;
}
