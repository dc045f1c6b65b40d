/*
 * test_addr.c - the one HOST:PORT helper: literal and name forms, the errors
 * a user sees for each mistake, resolution through getaddrinfo, and real
 * listeners and connections on loopback (IPv4, and IPv6 when the machine has ::1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "base/addr.h"

TEST(parse_ipv4)
{
	struct addr_hostport hp;
	char err[256] = "";

	ASSERT_EQ(addr_parse("127.0.0.1:9090", 0, &hp, err, sizeof(err)), 0);
	ASSERT_STR_EQ(hp.host, "127.0.0.1");
	ASSERT_EQ(hp.port, 9090);
	ASSERT_EQ(hp.family, AF_INET);
	ASSERT_EQ(addr_parse("0.0.0.0:8080", 0, &hp, err, sizeof(err)), 0);
	ASSERT_EQ(hp.port, 8080);
}

TEST(parse_ipv6_literal)
{
	struct addr_hostport hp;
	char err[256] = "";

	ASSERT_EQ(addr_parse("[::1]:9090", 0, &hp, err, sizeof(err)), 0);
	ASSERT_STR_EQ(hp.host, "::1");
	ASSERT_EQ(hp.port, 9090);
	ASSERT_EQ(hp.family, AF_INET6);
	ASSERT_EQ(addr_parse("[fd00::2]:1", ADDR_NUMERIC, &hp, err, sizeof(err)), 0);
	ASSERT_STR_EQ(hp.host, "fd00::2");
	/* without brackets the port cannot be told from the address */
	ASSERT_EQ(addr_parse("::1:9090", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "needs brackets");
	ASSERT_EQ(addr_parse("[::1]9090", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "no port after ']'");
	ASSERT_EQ(addr_parse("[::1:9090", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "without ']'");
	ASSERT_EQ(addr_parse("[127.0.0.1]:80", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "not an IPv6 address");
}

TEST(parse_names)
{
	struct addr_hostport hp;
	char err[256] = "";

	ASSERT_EQ(addr_parse("localhost:80", 0, &hp, err, sizeof(err)), 0);
	ASSERT_STR_EQ(hp.host, "localhost");
	ASSERT_EQ(hp.family, AF_UNSPEC);
	ASSERT_EQ(addr_parse("conformd.conform.svc.cluster.local:9090", 0, &hp, err,
			     sizeof(err)), 0);
	ASSERT_STR_EQ(hp.host, "conformd.conform.svc.cluster.local");
	ASSERT_EQ(hp.port, 9090);
	ASSERT_EQ(addr_parse("bad_-.name..x:80", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "neither an IP address nor a host name");
	ASSERT_EQ(addr_parse("-lead.example:80", 0, &hp, err, sizeof(err)), -1);
	ASSERT_EQ(addr_parse("sp ace:80", 0, &hp, err, sizeof(err)), -1);
	/* a setting that takes IP literals only says so */
	ASSERT_EQ(addr_parse("localhost:80", ADDR_NUMERIC, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "not a numeric IP address");
}

TEST(parse_bad_and_missing_port)
{
	struct addr_hostport hp;
	char err[256] = "";

	ASSERT_EQ(addr_parse("127.0.0.1", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "no port; give HOST:PORT");
	ASSERT_EQ(addr_parse("127.0.0.1:", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "is not a number");
	ASSERT_EQ(addr_parse("127.0.0.1:http", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "port 'http' is not a number 1..65535");
	ASSERT_EQ(addr_parse("127.0.0.1:65536", 0, &hp, err, sizeof(err)), -1);
	ASSERT_EQ(addr_parse("127.0.0.1:-1", ADDR_PORT_ZERO, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "0..65535");
	/* port 0 only where a listener asks for any port */
	ASSERT_EQ(addr_parse("127.0.0.1:0", 0, &hp, err, sizeof(err)), -1);
	ASSERT_EQ(addr_parse("127.0.0.1:0", ADDR_PORT_ZERO, &hp, err, sizeof(err)), 0);
	ASSERT_EQ(hp.port, 0);
	ASSERT_EQ(addr_parse(":80", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "no host");
	ASSERT_EQ(addr_parse("", 0, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "empty address");
}

TEST(loopback_only)
{
	struct addr_hostport hp;
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256] = "";

	ASSERT_EQ(addr_parse("127.1.2.3:80", ADDR_LOOPBACK, &hp, err, sizeof(err)), 0);
	ASSERT_EQ(addr_parse("[::1]:80", ADDR_LOOPBACK, &hp, err, sizeof(err)), 0);
	ASSERT_EQ(addr_parse("10.0.0.1:80", ADDR_LOOPBACK, &hp, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "only loopback addresses");
	ASSERT_EQ(addr_parse("0.0.0.0:80", ADDR_LOOPBACK, &hp, err, sizeof(err)), -1);
	ASSERT_EQ(addr_parse("[::]:80", ADDR_LOOPBACK, &hp, err, sizeof(err)), -1);
	/* a name is checked once resolved: localhost is loopback */
	ASSERT_EQ(addr_parse("localhost:80", ADDR_LOOPBACK, &hp, err, sizeof(err)), 0);
	ASSERT_EQ(addr_resolve(&hp, ADDR_LOOPBACK, 0, &ss, &sl, err, sizeof(err)), 0);
	ASSERT(addr_is_loopback((struct sockaddr *)&ss));
}

TEST(resolve_localhost)
{
	struct addr_hostport hp;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	char err[256] = "", out[ADDR_STR_MAX];

	ASSERT_EQ(addr_parse("localhost:4321", 0, &hp, err, sizeof(err)), 0);
	ASSERT_EQ(addr_resolve(&hp, 0, 0, &ss, &sl, err, sizeof(err)), 0);
	ASSERT(sl > 0);
	ASSERT_EQ(addr_format((struct sockaddr *)&ss, out, sizeof(out)), 0);
	/* whichever family the resolver lists first, it is loopback, port kept */
	ASSERT(!strcmp(out, "127.0.0.1:4321") || !strcmp(out, "[::1]:4321"));
}

TEST(unresolvable_name)
{
	struct addr_hostport hp;
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256] = "";

	/* .invalid never resolves (RFC 2606 section 2) */
	ASSERT_EQ(addr_parse("conformd.invalid:9090", 0, &hp, err, sizeof(err)), 0);
	ASSERT_EQ(addr_resolve(&hp, 0, 0, &ss, &sl, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "cannot resolve 'conformd.invalid': ");
	ASSERT_CONTAINS(err, "check the name");
	ASSERT_EQ(addr_connect("conformd.invalid:9090", 0, 1000, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "cannot resolve 'conformd.invalid'");
}

TEST(format_and_join)
{
	struct sockaddr_in6 s6;
	char out[ADDR_STR_MAX];

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(7);
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	ASSERT_EQ(addr_format((struct sockaddr *)&s6, out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "[::1]:7");
	ASSERT_EQ(addr_join("::1", 80, out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "[::1]:80");
	ASSERT_EQ(addr_join("127.0.0.1", 80, out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "127.0.0.1:80");
	ASSERT_EQ(addr_format((struct sockaddr *)&s6, out, 4), -1);
}

/* Listen on addr, connect to it by connect_host, and pass a byte through. */
static int round_trip(const char *addr, const char *connect_host)
{
	char err[256] = "", target[ADDR_STR_MAX], c = 0;
	int lfd, cfd = -1, afd = -1, port = -1, rc = -1;

	lfd = addr_listen(addr, ADDR_PORT_ZERO | ADDR_LOOPBACK, 8, &port, err, sizeof(err));
	if (lfd < 0) {
		fprintf(stderr, "listen %s: %s\n", addr, err);
		return -1;
	}
	if (port <= 0 || port != addr_bound_port(lfd))
		goto out;
	addr_join(connect_host, port, target, sizeof(target));
	cfd = addr_connect(target, 0, 2000, err, sizeof(err));
	if (cfd < 0) {
		fprintf(stderr, "connect %s: %s\n", target, err);
		goto out;
	}
	afd = accept(lfd, NULL, NULL);
	if (afd < 0 || write(cfd, "x", 1) != 1 || read(afd, &c, 1) != 1 || c != 'x')
		goto out;
	rc = 0;
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return rc;
}

TEST(listen_connect_ipv4)
{
	ASSERT_EQ(round_trip("127.0.0.1:0", "127.0.0.1"), 0);
}

static int have_ipv6_loopback(void)
{
	struct sockaddr_in6 s6;
	int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
	close(fd);
	return ok;
}

TEST(listen_connect_ipv6)
{
	if (!have_ipv6_loopback()) {
		printf("# skip listen_connect_ipv6: no IPv6 loopback on this machine\n");
		return;
	}
	ASSERT_EQ(round_trip("[::1]:0", "::1"), 0);
}

TEST(listen_errors)
{
	char err[256] = "";
	int port, fd, fd2;

	/* a port in use says so and how to fix it */
	fd = addr_listen("127.0.0.1:0", ADDR_PORT_ZERO, 8, &port, err, sizeof(err));
	ASSERT(fd >= 0);
	{
		char again[64];

		snprintf(again, sizeof(again), "127.0.0.1:%d", port);
		fd2 = addr_listen(again, 0, 8, NULL, err, sizeof(err));
		if (fd2 >= 0)
			close(fd2);
		close(fd);
		ASSERT_EQ(fd2, -1);
		ASSERT_CONTAINS(err, "cannot bind 127.0.0.1:");
		ASSERT_CONTAINS(err, "pick another port");
	}
	/* loopback-only listeners refuse a wildcard */
	ASSERT_EQ(addr_listen("0.0.0.0:0", ADDR_PORT_ZERO | ADDR_LOOPBACK, 8, NULL, err,
			      sizeof(err)), -1);
	ASSERT_CONTAINS(err, "only loopback");
	/* connecting to a closed port names the address */
	fd = addr_listen("127.0.0.1:0", ADDR_PORT_ZERO, 8, &port, err, sizeof(err));
	ASSERT(fd >= 0);
	close(fd);
	{
		char target[64];

		snprintf(target, sizeof(target), "127.0.0.1:%d", port);
		ASSERT_EQ(addr_connect(target, 0, 1000, err, sizeof(err)), -1);
		ASSERT_CONTAINS(err, "cannot connect to 127.0.0.1:");
		ASSERT_CONTAINS(err, strerror(ECONNREFUSED));
	}
}

int main(void)
{
	RUN(parse_ipv4);
	RUN(parse_ipv6_literal);
	RUN(parse_names);
	RUN(parse_bad_and_missing_port);
	RUN(loopback_only);
	RUN(resolve_localhost);
	RUN(unresolvable_name);
	RUN(format_and_join);
	RUN(listen_connect_ipv4);
	RUN(listen_connect_ipv6);
	RUN(listen_errors);
	TEST_MAIN_END();
}
