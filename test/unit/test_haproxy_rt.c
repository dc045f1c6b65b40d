/*
 * test_haproxy_rt.c - the runtime API client: `show stat` CSV captured from
 * a HAProxy 2.6 outbound sidecar parses into typed rows (columns found by
 * name), bad CSV is refused, and commands round-trip through a fake admin
 * socket that answers the way HAProxy does (reply, then close).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "mesh/haproxy/rt.h"
#include "base/util.h"

/* `show stat` of an outbound sidecar (trimmed to a few rows) */
static const char stat_csv[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,"
	"eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,ql"
	"imit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_st"
	"atus,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,"
	"hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,"
	"comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttim"
	"e,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,ch"
	"eck_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,al"
	"go,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse"
	",cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,tt"
	"ime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight"
	",agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_r"
	"eused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcv"
	"d,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_dete"
	"cted_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connecti"
	"ons,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1"
	"_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_b"
	"ytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n"
	"out_http-client,FRONTEND,,,0,50,4096,57,4242359,12899806,0,0,2,,,,,OPEN,,,,,"
	",,,,1,2,0,,,,0,0,0,52,,,,0,86572,0,2,2,0,,0,20375,86576,,,0,0,0,0,,,,,,,,,,,"
	",,,,,,,,,,http,,0,52,57,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,1,0,3,0,0,0,0,"
	"0,0,0,0,1,1,0,0,57,86574,3290355,12294006,0,0,\n"
	"be_split,v1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,50,1,0,,,38,,,1,4,1,,0,,2,0,"
	",0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.250.194.11:4143,,"
	"http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,50,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"be_split,v2,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,10,1,0,,,38,,,1,4,2,,0,,2,0,"
	",0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.250.194.12:4143,,"
	"http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,10,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"be_split,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,UP,60,2,0,,0,38,0,,1,4,0,,0,,1"
	",0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,roundro"
	"bin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,60,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"
	",0,0,0,0,0,0,0,0,0,\n"
	"be_wrongid,BACKEND,0,0,0,1,1,1,86,217,0,0,,1,0,0,0,UP,100,1,0,,0,38,0,,1,8,0"
	",,1,,1,0,,1,,,,0,0,0,0,1,0,,,,1,0,0,0,0,0,0,37,,,0,0,0,0,,,,,,,,,,,,,,http,r"
	"oundrobin,,,,,,,0,1,0,0,0,,,0,0,0,0,0,,,,,100,0,0,0,-,0,0,1,0,0,0,0,0,0,0,0,"
	"0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"\n";

TEST(parse_show_stat)
{
	struct hrt_stat rows[16];
	const struct hrt_stat *r;
	size_t n;

	ASSERT_EQ(hrt_parse_stat(stat_csv, strlen(stat_csv), rows, ARRAY_SIZE(rows), &n), 0);
	ASSERT_EQ(n, 5);
	r = hrt_stat_find(rows, n, "out_http-client", "FRONTEND");
	ASSERT(r);
	ASSERT_STR_EQ(r->status, "OPEN");
	ASSERT_EQ(r->stot, 57);
	ASSERT_EQ(r->scur, 0);
	ASSERT_EQ(r->hrsp_5xx, 2);
	ASSERT_EQ(r->weight, -1);
	ASSERT_EQ(r->wretr, -1);
	ASSERT_EQ(r->req_tot, 86576);
	ASSERT_EQ(r->ssl_failed_handshake, 0);
	r = hrt_stat_find(rows, n, "be_split", "v1");
	ASSERT(r);
	ASSERT_EQ(r->weight, 50);
	ASSERT_STR_EQ(r->status, "no check");
	ASSERT_EQ(r->wretr, 0);
	r = hrt_stat_find(rows, n, "be_split", "v2");
	ASSERT(r);
	ASSERT_EQ(r->weight, 10);
	r = hrt_stat_find(rows, n, "be_split", "BACKEND");
	ASSERT(r);
	ASSERT_EQ(r->weight, 60);
	ASSERT_STR_EQ(r->status, "UP");
	r = hrt_stat_find(rows, n, "be_wrongid", "BACKEND");
	ASSERT(r);
	ASSERT_EQ(r->stot, 1);
	ASSERT_EQ(r->hrsp_5xx, 1);
	ASSERT(hrt_stat_find(rows, n, "be_split", "v3") == NULL);
}

TEST(parse_columns_by_name_and_quotes)
{
	/* other column order, quoted fields, CRLF-free, blank lines ignored */
	static const char csv[] =
		"# svname,pxname,weight,status,stot,scur,hrsp_5xx,wretr,check_desc\n"
		"\n"
		"v1,be_x,7,UP,100,3,4,5,\"Layer7 \"\"check\"\", passed\"\n"
		"\"v,2\",be_x,,DOWN,0,0,0,0,\n";
	struct hrt_stat rows[4];
	size_t n;

	ASSERT_EQ(hrt_parse_stat(csv, strlen(csv), rows, 4, &n), 0);
	ASSERT_EQ(n, 2);
	ASSERT_STR_EQ(rows[0].proxy, "be_x");
	ASSERT_STR_EQ(rows[0].server, "v1");
	ASSERT_EQ(rows[0].weight, 7);
	ASSERT_EQ(rows[0].stot, 100);
	ASSERT_EQ(rows[0].scur, 3);
	ASSERT_EQ(rows[0].hrsp_5xx, 4);
	ASSERT_EQ(rows[0].wretr, 5);
	ASSERT_STR_EQ(rows[1].server, "v,2");
	ASSERT_EQ(rows[1].weight, -1);
	ASSERT_EQ(rows[0].req_tot, -1);   /* optional column absent */
}

TEST(parse_rejects_bad_csv)
{
	struct hrt_stat rows[2];
	size_t n;
	static const char *const bad[] = {
		"",
		"Unknown command\n",
		"# pxname,svname,status\nbe,v1,UP\n",                  /* columns missing */
		"# pxname,svname,status,weight,scur,stot,hrsp_5xx,wretr\nbe,v1,UP,x,0,0,0,0\n",
		"# pxname,svname,status,weight,scur,stot,hrsp_5xx,wretr\nbe,v1,UP,-1,0,0,0,0\n",
		"# pxname,svname,status,weight,scur,stot,hrsp_5xx,wretr\nbe,v1,UP,1,0\n",
		"# pxname,svname,status,weight,scur,stot,hrsp_5xx,wretr\n\"be,v1,UP,1,0,0,0,0\n",
		"# pxname,svname,status,weight,scur,stot,hrsp_5xx,wretr\n"
		"0123456789012345678901234567890123456789012345678901234567890123456789,"
		"v1,UP,1,0,0,0,0\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (hrt_parse_stat(bad[i], strlen(bad[i]), rows, 2, &n) == 0)
			H_FAIL("case %zu accepted", i);
	/* more rows than room */
	ASSERT_EQ(hrt_parse_stat(stat_csv, strlen(stat_csv), rows, 2, &n), -1);
	ASSERT_EQ(errno, E2BIG);
}

/* ---- a fake admin socket ---- */

struct fake {
	int lfd;
	int n;                 /* connections to serve */
	char got[8][128];      /* commands received */
	const char *reply[8];
	int stall;             /* do not answer: the client must time out */
};

static void *fake_run(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < f->n; i++) {
		int c = accept(f->lfd, NULL, NULL);
		ssize_t k;

		if (c < 0)
			break;
		k = read(c, f->got[i], sizeof(f->got[i]) - 1);
		if (k > 0)
			f->got[i][k] = '\0';
		if (f->stall)
			usleep(400 * 1000);
		else if (f->reply[i] && write(c, f->reply[i], strlen(f->reply[i])) < 0)
			perror("write");
		close(c);
	}
	return NULL;
}

static int fake_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8))
		return -1;
	return fd;
}

TEST(commands_round_trip)
{
	char path[64];
	struct fake f;
	pthread_t t;
	int cur = 0, ini = 0;
	struct hrt_stat rows[16];
	size_t n;

	snprintf(path, sizeof(path), "/tmp/conform-test-hrt-%d.sock", (int)getpid());
	memset(&f, 0, sizeof(f));
	f.lfd = fake_listen(path);
	ASSERT(f.lfd >= 0);
	f.n = 7;
	f.reply[0] = "\n";
	f.reply[1] = "No such server.\n";
	f.reply[2] = "50 (initial 90)\n";
	f.reply[3] = "\n";
	f.reply[4] = stat_csv;
	f.reply[5] = "garbage\n";
	f.reply[6] = "Name: HAProxy\nVersion: 2.6.12\nUptime_sec: 4711\nMemmax_MB: 0\n";
	pthread_create(&t, NULL, fake_run, &f);
	ASSERT_EQ(hrt_set_weight(path, "be_split", "v1", 50), 0);
	ASSERT_EQ(hrt_set_weight(path, "be_split", "nosuch", 50), -1);
	ASSERT_EQ(errno, EPROTO);
	ASSERT_CONTAINS(hrt_last_error(), "No such server.");
	ASSERT_EQ(hrt_get_weight(path, "be_split", "v1", &cur, &ini), 0);
	ASSERT_EQ(cur, 50);
	ASSERT_EQ(ini, 90);
	ASSERT_EQ(hrt_set_server_enabled(path, "be_split", "v2", 0), 0);
	ASSERT_EQ(hrt_show_stat(path, rows, ARRAY_SIZE(rows), &n), 0);
	ASSERT_EQ(n, 5);
	ASSERT_EQ(hrt_get_weight(path, "be_split", "v1", &cur, &ini), -1);
	{
		int64_t up = 0;

		ASSERT_EQ(hrt_uptime_s(path, &up), 0);
		ASSERT_EQ(up, 4711);
	}
	pthread_join(t, NULL);
	ASSERT_STR_EQ(f.got[0], "set weight be_split/v1 50\n");
	ASSERT_STR_EQ(f.got[2], "get weight be_split/v1\n");
	ASSERT_STR_EQ(f.got[3], "disable server be_split/v2\n");
	ASSERT_STR_EQ(f.got[4], "show stat\n");
	/* arguments are checked before anything is sent */
	ASSERT_EQ(hrt_set_weight(path, "be split", "v1", 1), -1);
	ASSERT_EQ(hrt_set_weight(path, "be", "v1", 257), -1);
	ASSERT_EQ(errno, EINVAL);
	close(f.lfd);
	unlink(path);
}

TEST(timeout_and_cap)
{
	char path[64];
	struct fake f;
	pthread_t t;
	struct dynbuf b = DYNBUF_INIT(64);
	int64_t t0;

	snprintf(path, sizeof(path), "/tmp/conform-test-hrt2-%d.sock", (int)getpid());
	memset(&f, 0, sizeof(f));
	f.lfd = fake_listen(path);
	ASSERT(f.lfd >= 0);
	f.n = 2;
	f.stall = 1;
	pthread_create(&t, NULL, fake_run, &f);
	t0 = mono_ms();
	ASSERT_EQ(hrt_cmd(path, "show info", 100, &b), -1);
	ASSERT_EQ(errno, ETIMEDOUT);
	ASSERT(mono_ms() - t0 < 350);
	f.stall = 0;
	f.reply[1] = stat_csv;           /* bigger than the 64-byte cap */
	ASSERT_EQ(hrt_cmd(path, "show stat", 1000, &b), -1);
	ASSERT_EQ(errno, E2BIG);
	ASSERT(b.len <= 64);
	pthread_join(t, NULL);
	ASSERT_EQ(hrt_cmd(path, "two\nlines", 100, &b), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(hrt_cmd("/nonexistent/sock", "show info", 100, &b), -1);
	dynbuf_release(&b);
	close(f.lfd);
	unlink(path);
}

/* `show ssl cert FILE` as HAProxy 2.6 answers it: subject and notAfter read,
 * anything missing refused (identity.expiry of clients rests on it). */
TEST(parse_show_cert)
{
	char cn[64];
	int64_t na = 0;

	ASSERT_EQ(hrt_parse_show_cert("Filename: /r/pki/http-client.pem\n"
				      "Status: Used\nSerial: 01\n"
				      "notBefore: Dec  6 06:00:00 2026 GMT\n"
				      "notAfter: Dec  7 06:00:00 2026 GMT\r\n"
				      "Subject: /CN=http-client.conform.serviceaccount.identity\n",
				      cn, sizeof(cn), &na), 0);
	ASSERT_STR_EQ(cn, "http-client.conform.serviceaccount.identity");
	ASSERT_EQ(na, 1796623200);   /* 2026-12-07T06:00:00Z */
	ASSERT_EQ(hrt_parse_show_cert("notAfter: Dec  7 06:00:00 2026 GMT\n", cn, sizeof(cn),
				      &na), -1);
	ASSERT_EQ(hrt_parse_show_cert("Subject: /CN=x\nnotAfter: tomorrow\n", cn, sizeof(cn),
				      &na), -1);
	ASSERT_EQ(hrt_parse_show_cert("Subject: /O=x\nnotAfter: Dec  7 06:00:00 2026 GMT\n",
				      cn, sizeof(cn), &na), -1);
	ASSERT_EQ(hrt_parse_show_cert("Subject: /CN=a-name-longer-than-the-buffer-we-give\n"
				      "notAfter: Dec  7 06:00:00 2026 GMT\n", cn, 8, &na), -1);
}

int main(void)
{
	RUN(parse_show_cert);
	RUN(parse_show_stat);
	RUN(parse_columns_by_name_and_quotes);
	RUN(parse_rejects_bad_csv);
	RUN(commands_round_trip);
	RUN(timeout_and_cap);
	TEST_MAIN_END();
}
