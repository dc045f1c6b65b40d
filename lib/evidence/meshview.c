/*
 * meshview.c - the mesh's view of a window as plain structs and as the JSON
 * the store keeps (meshview.h). The JSON is what the report shows and what
 * the checks read back, so both directions live here.
 */
#include "evidence/meshview.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

struct mv_server *meshview_server(struct mesh_view *v, const char *workload)
{
	struct mv_server *s;

	for (size_t i = 0; i < v->nservers; i++)
		if (!strcmp(v->servers[i].workload, workload))
			return &v->servers[i];
	if (v->nservers >= MV_SERVERS_MAX || strlen(workload) >= sizeof(s->workload))
		return NULL;
	s = &v->servers[v->nservers++];
	memset(s, 0, sizeof(*s));
	str_copy(s->workload, sizeof(s->workload), workload);
	return s;
}

void meshview_peer_add(struct mv_server *s, const char *id, uint64_t n)
{
	for (size_t i = 0; i < s->npeers; i++) {
		if (!strcmp(s->peers[i].id, id)) {
			s->peers[i].requests += n;
			return;
		}
	}
	if (s->npeers >= MV_PEERS_MAX || strlen(id) >= MV_ID_MAX)
		return;
	str_copy(s->peers[s->npeers].id, MV_ID_MAX, id);
	s->peers[s->npeers++].requests = n;
}

static int jkey(struct dynbuf *b, const char *k)
{
	return dynbuf_adds(b, "\"") | dynbuf_add_json_str(b, k) | dynbuf_adds(b, "\":");
}

int meshview_json(const struct mesh_view *v, struct dynbuf *b)
{
	int rc;
	size_t i, k;

	rc = dynbuf_addf(b, "{\"from\":%.3f,\"to\":%.3f,\"pods\":%zu", v->from, v->to, v->pods);
	if (v->partial)
		rc |= dynbuf_adds(b, ",\"partial\":\"") | dynbuf_add_json_str(b, v->why) |
		      dynbuf_adds(b, "\"");
	rc |= dynbuf_adds(b, ",\"inbound\":{");
	for (i = 0; i < v->nservers; i++) {
		const struct mv_server *s = &v->servers[i];

		rc |= dynbuf_adds(b, i ? "," : "") | jkey(b, s->workload);
		rc |= dynbuf_addf(b, "{\"requests\":%" PRIu64 ",\"tls\":%" PRIu64
				  ",\"client_ids\":{", s->requests, s->tls);
		for (k = 0; k < s->npeers; k++)
			rc |= dynbuf_adds(b, k ? "," : "") | jkey(b, s->peers[k].id) |
			      dynbuf_addf(b, "%" PRIu64, s->peers[k].requests);
		rc |= dynbuf_adds(b, "}}");
	}
	rc |= dynbuf_adds(b, "},\"retries\":{");
	for (i = 0; i < v->nroutes; i++) {
		const struct mv_route *r = &v->routes[i];

		rc |= dynbuf_adds(b, i ? "," : "") | jkey(b, r->name);
		rc |= dynbuf_addf(b, "{\"retries\":%" PRIu64 ",\"successes\":%" PRIu64
				  ",\"limit_exceeded\":%" PRIu64 ",\"overflow\":%" PRIu64 "}",
				  r->retries, r->successes, r->limit_exceeded, r->overflow);
	}
	rc |= dynbuf_adds(b, "},\"split\":{\"parent\":\"") | dynbuf_add_json_str(b, v->split_parent) |
	      dynbuf_adds(b, "\",\"backends\":{");
	for (i = 0; i < v->nbackends; i++)
		rc |= dynbuf_adds(b, i ? "," : "") | jkey(b, v->backends[i].name) |
		      dynbuf_addf(b, "%" PRIu64, v->backends[i].requests);
	rc |= dynbuf_adds(b, "}}}");
	return rc ? -1 : 0;
}

/* a count: a finite non-negative JSON number, else 0 */
static uint64_t jcount(const cJSON *o, const char *k)
{
	const cJSON *n = k ? cJSON_GetObjectItemCaseSensitive(o, k) : o;

	if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0) || !isfinite(n->valuedouble) ||
	    n->valuedouble >= 1.8e19)
		return 0;
	return (uint64_t)n->valuedouble;
}

int meshview_parse(const char *text, struct mesh_view *v)
{
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	const cJSON *it, *p, *f;

	memset(v, 0, sizeof(*v));
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	f = cJSON_GetObjectItemCaseSensitive(o, "from");
	v->from = cJSON_IsNumber(f) ? f->valuedouble : 0;
	f = cJSON_GetObjectItemCaseSensitive(o, "to");
	v->to = cJSON_IsNumber(f) ? f->valuedouble : 0;
	v->pods = (size_t)jcount(o, "pods");
	f = cJSON_GetObjectItemCaseSensitive(o, "partial");
	if (cJSON_IsString(f)) {
		v->partial = 1;
		str_copy(v->why, sizeof(v->why), f->valuestring);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "inbound")) {
		struct mv_server *s = it->string ? meshview_server(v, it->string) : NULL;

		if (!s)
			continue;
		s->requests = jcount(it, "requests");
		s->tls = jcount(it, "tls");
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(it, "client_ids"))
			if (p->string)
				meshview_peer_add(s, p->string, jcount(p, NULL));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "retries")) {
		struct mv_route *r = &v->routes[v->nroutes];

		if (v->nroutes >= MV_ROUTES_MAX || !it->string ||
		    strlen(it->string) >= sizeof(r->name))
			continue;
		str_copy(r->name, sizeof(r->name), it->string);
		r->retries = jcount(it, "retries");
		r->successes = jcount(it, "successes");
		r->limit_exceeded = jcount(it, "limit_exceeded");
		r->overflow = jcount(it, "overflow");
		v->nroutes++;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "split");
	f = cJSON_GetObjectItemCaseSensitive(it, "parent");
	if (cJSON_IsString(f))
		str_copy(v->split_parent, sizeof(v->split_parent), f->valuestring);
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(it, "backends")) {
		struct mv_backend *be = &v->backends[v->nbackends];

		if (v->nbackends >= MV_BACKENDS_MAX || !p->string ||
		    strlen(p->string) >= sizeof(be->name))
			continue;
		str_copy(be->name, sizeof(be->name), p->string);
		be->requests = jcount(p, NULL);
		v->nbackends++;
	}
	cJSON_Delete(o);
	return 0;
}
