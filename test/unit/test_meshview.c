/*
 * test_meshview.c - the mesh's view of a window as the store keeps it: the
 * JSON read back field by field (bounds and junk refused or dropped), the
 * view a window gets (the one covering most of it, at least half), and a
 * store of schema 3 upgraded in place to hold views.
 */
#include <errno.h>

#include <sqlite3.h>

#include "evidence/meshview.h"
#include "fixture.h"
#include "harness.h"

static void sample(struct mesh_view *v)
{
	struct mv_server *s;

	memset(v, 0, sizeof(*v));
	v->from = T0;
	v->to = T0 + 10;
	v->pods = 3;
	s = meshview_server(v, "http-server-v1");
	s->requests = 514;
	s->tls = 512;
	meshview_peer_add(s, "http-client.conform.serviceaccount.identity.linkerd.cluster.local",
			  500);
	meshview_peer_add(s, "grpc-client.conform.serviceaccount.identity.linkerd.cluster.local",
			  12);
	str_copy(v->routes[0].name, sizeof(v->routes[0].name), "http-retry");
	v->routes[0].retries = 90;
	v->routes[0].overflow = 1;
	v->nroutes = 1;
	str_copy(v->split_parent, sizeof(v->split_parent), "http-server");
	str_copy(v->backends[0].name, sizeof(v->backends[0].name), "http-server-v1");
	v->backends[0].requests = 450;
	str_copy(v->backends[1].name, sizeof(v->backends[1].name), "http-server-v2");
	v->backends[1].requests = 50;
	v->nbackends = 2;
}

TEST(json_round_trip)
{
	struct mesh_view v, w;
	struct dynbuf b = DYNBUF_INIT(MV_JSON_MAX);

	sample(&v);
	v.partial = 1;
	str_copy(v.why, sizeof(v.why), "pod \"x\" had its proxy restarted");
	ASSERT_EQ(meshview_json(&v, &b), 0);
	ASSERT_EQ(meshview_parse(b.buf, &w), 0);
	ASSERT_EQ(w.pods, 3);
	ASSERT_EQ(w.partial, 1);
	ASSERT_STR_EQ(w.why, "pod \"x\" had its proxy restarted");
	ASSERT_EQ(w.nservers, 1);
	ASSERT_STR_EQ(w.servers[0].workload, "http-server-v1");
	ASSERT_EQ(w.servers[0].requests, 514);
	ASSERT_EQ(w.servers[0].tls, 512);
	ASSERT_EQ(w.servers[0].npeers, 2);
	ASSERT_EQ(w.servers[0].peers[1].requests, 12);
	ASSERT_EQ(w.routes[0].retries, 90);
	ASSERT_EQ(w.routes[0].overflow, 1);
	ASSERT_STR_EQ(w.split_parent, "http-server");
	ASSERT_EQ(w.nbackends, 2);
	ASSERT_EQ(w.backends[1].requests, 50);
	ASSERT(w.to - w.from == 10);
	dynbuf_release(&b);
	/* not a view; negative or absurd counts read as 0; too many entries dropped */
	ASSERT_EQ(meshview_parse("[1]", &w), -EINVAL);
	ASSERT_EQ(meshview_parse("{\"inbound\":", &w), -EINVAL);
	ASSERT_EQ(meshview_parse(NULL, &w), -EINVAL);
	ASSERT_EQ(meshview_parse("{\"inbound\":{\"a\":{\"requests\":-5,\"tls\":1e300}},"
				 "\"split\":{\"backends\":{\"a\":1,\"b\":1,\"c\":1,\"d\":1,"
				 "\"e\":1}}}", &w), 0);
	ASSERT_EQ(w.servers[0].requests, 0);
	ASSERT_EQ(w.servers[0].tls, 0);
	ASSERT_EQ(w.nbackends, MV_BACKENDS_MAX);
	ASSERT_EQ(w.partial, 0);
}

TEST(a_window_gets_the_view_that_covers_it)
{
	struct store *s = fixture_store_open();
	char *json = NULL;
	double from = 0, to = 0;

	ASSERT(s);
	/* none yet */
	ASSERT_EQ(store_get_mesh_view(s, T0, T0 + 10, &json, &from, &to), 0);
	ASSERT(json == NULL);
	/* scrapes a little after each boundary, as conformd's tick takes them */
	ASSERT_EQ(store_put_mesh_view(s, T0 + 0.3, T0 + 10.2, "{\"pods\":1}"), 0);
	ASSERT_EQ(store_put_mesh_view(s, T0 + 10.2, T0 + 20.4, "{\"pods\":2}"), 0);
	ASSERT_EQ(store_get_mesh_view(s, T0, T0 + 10, &json, &from, &to), 1);
	ASSERT_STR_EQ(json, "{\"pods\":1}");
	ASSERT(from == T0 + 0.3 && to == T0 + 10.2);
	free(json);
	ASSERT_EQ(store_get_mesh_view(s, T0 + 10, T0 + 20, &json, &from, &to), 1);
	ASSERT_STR_EQ(json, "{\"pods\":2}");
	free(json);
	/* a window the views cover less than half of has none */
	ASSERT_EQ(store_get_mesh_view(s, T0 + 16, T0 + 26, &json, &from, &to), 0);
	ASSERT(json == NULL);
	ASSERT_EQ(store_get_mesh_view(s, T0 + 20, T0 + 30, &json, &from, &to), 0);
	/* bad input is refused */
	ASSERT_EQ(store_put_mesh_view(s, T0 + 5, T0 + 4, "{}"), -1);
	ASSERT_EQ(store_put_mesh_view(s, T0, T0 + 1, NULL), -1);
	/* past the retention a view is gone: the first, not the second */
	ASSERT_EQ(store_prune_mesh_views(s, T0 + 15), 1);
	ASSERT_EQ(store_get_mesh_view(s, T0, T0 + 10, &json, &from, &to), 0);
	ASSERT_EQ(store_get_mesh_view(s, T0 + 10, T0 + 20, &json, &from, &to), 1);
	free(json);
	ASSERT_EQ(store_prune_mesh_views(s, T0 + 15), 0);
	store_close(s);
}

TEST(schema_3_store_upgraded_for_views)
{
	struct store *s = fixture_store_open();
	char path[128], err[256], *json = NULL;
	double from, to;
	sqlite3 *db = NULL;

	ASSERT(s);
	store_close(s);
	str_fmt(path, sizeof(path), "%s/%d.db", fixture_tmpdir, fixture_ndb - 1);
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "DROP TABLE mesh_views; PRAGMA user_version=3", NULL, NULL,
			       NULL), SQLITE_OK);
	sqlite3_close(db);
	ASSERT_EQ(store_open(path, 0, &s, err, sizeof(err)), 0);
	ASSERT_EQ(store_put_mesh_view(s, T0, T0 + 10, "{\"pods\":1}"), 0);
	ASSERT_EQ(store_get_mesh_view(s, T0, T0 + 10, &json, &from, &to), 1);
	free(json);
	store_close(s);
}

int main(void)
{
	if (fixture_tmpdir_make("meshview")) {
		perror("mkdtemp");
		return 1;
	}
	RUN(json_round_trip);
	RUN(a_window_gets_the_view_that_covers_it);
	RUN(schema_3_store_upgraded_for_views);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
