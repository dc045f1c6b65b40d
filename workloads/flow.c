/*
 * flow.c - the small shared pieces of conform-workload: --flow spec parsing,
 * address parsing, the ready file, request ids, time mapping and the totals
 * log lines that end a client's life.
 */
#include "workload.h"
#include "base/addr.h"
#include "base/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


int wl_listen(const char *spec, int *fd, char *bound, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char err[512], q[600];

	*fd = addr_listen(spec, ADDR_PORT_ZERO, 1024, NULL, err, sizeof(err));
	if (*fd < 0) {
		log_kv(LOG_ERROR, "cannot listen", "addr=%s err=%s", spec,
		       log_quote(err, q, sizeof(q)));
		return -1;
	}
	if (getsockname(*fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    addr_format((struct sockaddr *)&ss, bound, len) < 0) {
		log_kv(LOG_ERROR, "cannot read the bound address", "addr=%s", spec);
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

static int flow_kv(struct wl_flow *f, enum wl_role role, const char *k, const char *v,
		   char *err, size_t errlen)
{
	int grpc = role == WL_GRPC_CLIENT;

	if (!strcmp(k, "check")) {
		if (!*v || str_copy(f->check, sizeof(f->check), v) < 0)
			goto bad;
	} else if (!strcmp(k, "url") && !grpc) {
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			goto bad;
		if (strchr(v, ' ') || str_copy(f->url, sizeof(f->url), v) < 0)
			goto bad;
	} else if (!strcmp(k, "target") && grpc) {
		struct addr_hostport hp;
		char aerr[256];

		if (addr_parse(v, 0, &hp, aerr, sizeof(aerr)) < 0 &&
		    strncmp(v, "unix:", 5) && strncmp(v, "dns:", 4))
			goto bad;
		if (str_copy(f->target, sizeof(f->target), v) < 0)
			goto bad;
	} else if (!strcmp(k, "method") && grpc) {
		if (!strcmp(v, "unary"))
			f->method = WL_UNARY;
		else if (!strcmp(v, "bidi"))
			f->method = WL_BIDI;
		else
			goto bad;
	} else if (!strcmp(k, "authority")) {
		size_t i;

		if (!*v || str_copy(f->authority, sizeof(f->authority), v) < 0)
			goto bad;
		for (i = 0; v[i]; i++)
			if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
				goto bad;
	} else if (!strcmp(k, "rate")) {
		if (parse_double(v, 0.001, 100000, &f->rate) < 0)
			goto bad;
	} else if (!strcmp(k, "timeout")) {
		if (dur_parse(v, &f->timeout_ms) < 0 || f->timeout_ms < 1 || f->timeout_ms > 600000)
			goto bad;
	} else if (!strcmp(k, "fail") && !grpc) {
		if (parse_double(v, 0, 1, &f->fail) < 0)
			goto bad;
	} else if (!strcmp(k, "delay")) {
		if (dur_parse(v, &f->delay_ms) < 0 || f->delay_ms > 600000)
			goto bad;
	} else if (!strcmp(k, "inflight")) {
		if (parse_i64(v, 1, 100000, &f->max_inflight) < 0)
			goto bad;
	} else {
		str_fmt(err, errlen, "unknown key '%s' for this role", k);
		return -1;
	}
	return 0;
bad:
	str_fmt(err, errlen, "bad value for %s: '%s'", k, v);
	return -1;
}

int wl_flow_parse(const char *spec, enum wl_role role, struct wl_flow *f, char *err,
		  size_t errlen)
{
	char buf[2048], *p, *next;
	int64_t cap;

	memset(f, 0, sizeof(*f));
	f->rate = 10;
	f->timeout_ms = 2000;
	if (role != WL_HTTP_CLIENT && role != WL_GRPC_CLIENT) {
		str_copy(err, errlen, "only for clients");
		return -1;
	}
	if (str_copy(buf, sizeof(buf), spec) < 0) {
		str_copy(err, errlen, "spec too long");
		return -1;
	}
	for (p = buf; p; p = next) {
		char *eq;

		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			str_fmt(err, errlen, "expected key=value, got '%s'", p);
			return -1;
		}
		*eq = '\0';
		if (flow_kv(f, role, p, eq + 1, err, errlen) < 0)
			return -1;
	}
	if (!f->check[0]) {
		str_copy(err, errlen, "check= is required");
		return -1;
	}
	if (role == WL_HTTP_CLIENT) {
		char q[64];
		const char *sep = strchr(f->url, '?') ? "&" : "?";

		if (!f->url[0]) {
			str_copy(err, errlen, "url= is required for http-client");
			return -1;
		}
		if (f->fail > 0) {
			str_fmt(q, sizeof(q), "%sfail=%g", sep, f->fail);
			sep = "&";
			if (strlen(f->url) + strlen(q) >= sizeof(f->url))
				goto toolong;
			memcpy(f->url + strlen(f->url), q, strlen(q) + 1);
		}
		if (f->delay_ms > 0) {
			str_fmt(q, sizeof(q), "%sdelay_ms=%lld", sep, (long long)f->delay_ms);
			if (strlen(f->url) + strlen(q) >= sizeof(f->url))
				goto toolong;
			memcpy(f->url + strlen(f->url), q, strlen(q) + 1);
		}
	} else if (!f->target[0]) {
		str_copy(err, errlen, "target= is required for grpc-client");
		return -1;
	}
	if (!f->max_inflight) {
		/* at a steady rate at most rate*timeout requests can be pending */
		cap = (int64_t)ceil(f->rate * (double)f->timeout_ms / 1000.0) + 8;
		f->max_inflight = cap < 16 ? 16 : cap > 4096 ? 4096 : cap;
	}
	return 0;
toolong:
	str_copy(err, errlen, "url too long");
	return -1;
}

int wl_write_ready(const struct wl_opts *o, const char *listen, const char *admin)
{
	struct dynbuf b = DYNBUF_INIT(4096);
	int rc = -1;

	if (!o->ready_file[0])
		return 0;
	if (dynbuf_addf(&b, "{\"pid\":%d,\"role\":\"", (int)getpid()) < 0 ||
	    dynbuf_add_json_str(&b, o->role_name) < 0 || dynbuf_adds(&b, "\",\"name\":\"") < 0 ||
	    dynbuf_add_json_str(&b, o->name) < 0 || dynbuf_adds(&b, "\",\"version\":\"") < 0 ||
	    dynbuf_add_json_str(&b, o->version) < 0 || dynbuf_adds(&b, "\"") < 0)
		goto out;
	if (listen && *listen &&
	    (dynbuf_adds(&b, ",\"listen\":\"") < 0 || dynbuf_add_json_str(&b, listen) < 0 ||
	     dynbuf_adds(&b, "\"") < 0))
		goto out;
	if (admin && *admin &&
	    (dynbuf_adds(&b, ",\"admin\":\"") < 0 || dynbuf_add_json_str(&b, admin) < 0 ||
	     dynbuf_adds(&b, "\"") < 0))
		goto out;
	if (dynbuf_adds(&b, "}\n") < 0)
		goto out;
	rc = file_write_atomic(o->ready_file, b.buf, b.len, 0644);
	if (rc < 0)
		log_kv(LOG_ERROR, "cannot write ready file", NULL);
out:
	dynbuf_release(&b);
	return rc;
}

int64_t wl_unix_second(const struct wl_opts *o, int64_t mono_ns_at)
{
	int64_t us = o->wall_base_us + mono_ns_at / 1000;

	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

void wl_request_id(const struct wl_opts *o, size_t fi, uint64_t k, int64_t due_ns, char *buf,
		   size_t len)
{
	int64_t us = o->wall_base_us + due_ns / 1000;

	str_fmt(buf, len, "%s.%s.%016llx.%llu.%lld", o->flows[fi].check, o->name,
		(unsigned long long)o->instance, (unsigned long long)k,
		(long long)(us >= 0 ? us / 1000 : 0));
}

void wl_log_totals(struct agg *agg)
{
	struct agg_total t[64];
	size_t n = agg_totals(agg, t, ARRAY_SIZE(t)), i;

	for (i = 0; i < n && i < ARRAY_SIZE(t); i++) {
		log_kv(LOG_INFO, "totals", "check=%s requests=%llu ok=%llu failed=%llu", t[i].check,
		       (unsigned long long)t[i].requests, (unsigned long long)t[i].ok,
		       (unsigned long long)t[i].failed);
		log_kv(LOG_INFO, "latency", "check=%s p50_us=%llu p99_us=%llu max_us=%llu",
		       t[i].check, (unsigned long long)t[i].p50_us, (unsigned long long)t[i].p99_us,
		       (unsigned long long)t[i].max_us);
	}
}

void wl_sched_init(struct wl_sched *s)
{
	memset(s, 0, sizeof(*s));
	hist_init(&s->lag);
}

void wl_sched_note(struct wl_sched *s, int sent, int64_t lag_ns)
{
	uint64_t us = lag_ns > 0 ? (uint64_t)(lag_ns / 1000) : 0;

	s->due++;
	if (!sent) {
		s->overload++;
		return;
	}
	s->sent++;
	if (us > WL_LATE_US)
		s->late++;
	hist_add(&s->lag, us);
}

void wl_sched_merge(struct wl_sched *dst, const struct wl_sched *src)
{
	dst->due += src->due;
	dst->sent += src->sent;
	dst->overload += src->overload;
	dst->late += src->late;
	hist_merge(&dst->lag, &src->lag);
}

void wl_sched_log(const char *check, const struct wl_sched *s, unsigned threads)
{
	double missed = s->due ? 100.0 * (double)(s->overload + s->late) / (double)s->due : 0.0;

	log_kv(LOG_INFO, "schedule",
	       "check=%s due=%llu sent=%llu overload=%llu late=%llu missed_pct=%.3f "
	       "lag_p50_us=%llu lag_p99_us=%llu lag_max_us=%llu threads=%u",
	       check, (unsigned long long)s->due, (unsigned long long)s->sent,
	       (unsigned long long)s->overload, (unsigned long long)s->late, missed,
	       (unsigned long long)hist_quantile(&s->lag, 0.5),
	       (unsigned long long)hist_quantile(&s->lag, 0.99),
	       (unsigned long long)s->lag.max_us, threads);
}

unsigned wl_send_threads(double total_rate)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double want = ceil(total_rate / WL_RATE_PER_THREAD);
	unsigned n = want < 1 ? 1 : want > WL_MAX_THREADS ? WL_MAX_THREADS : (unsigned)want;

	if (cpus >= 1 && n > (unsigned)cpus)
		n = (unsigned)cpus;
	return n;
}
