/*
 * metrics.h - the monitor's Prometheus text exposition (format 0.0.4),
 * rendered from a report (lib/report/report.h) so GET /metrics and the reports
 * read the same store. conformd serves it on its API socket and,
 * optionally, on a loopback TCP address (--metrics-addr).
 *
 * Series (HELP and TYPE precede each family; label values are escaped):
 *   conform_run_info{run_id,platform,mesh} 1
 *   conform_run_elapsed_seconds
 *   conform_run_final                        1 once the run ended
 *   conform_monitor_up                       1 (the monitor answers)
 *   conform_batches_total{result}            accepted | duplicate | rejected
 *   conform_check_state{check}               0 nodata, 1 pass, 2 fail (latest window)
 *   conform_check_windows_total{check,result} pass | fail | nodata
 *   conform_requests_total{check,outcome}    every outcome name of lib/evidence/outcome.h
 *   conform_request_duration_seconds         histogram per check, fixed le bounds
 *   conform_incidents_total{check}           spans of consecutive failing windows
 * Skipped checks have no series.
 */
#ifndef CONFORM_METRICS_H
#define CONFORM_METRICS_H

#include "base/addr.h"

#include <stddef.h>

#include "report/report.h"
#include "base/util.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Append the exposition of r to b; now (unix s) gives the elapsed time of a
 * run that has not ended. 0, or -1 when b is full (b may hold a partial text).
 */
int metrics_render(const struct report *r, double now, struct dynbuf *b);

/*
 * Parse a --metrics-addr value "127.0.0.1:PORT" (any 127.0.0.0/8 address,
 * or "[::1]:PORT"; port 0..65535, 0 = any) into addr/port. Only loopback is
 * accepted: the metrics are not authenticated. 0, or -1 with a message in err.
 * addr gets the address text without brackets; family AF_INET or AF_INET6.
 */
#define METRICS_ADDR_FLAGS (ADDR_PORT_ZERO | ADDR_NUMERIC | ADDR_LOOPBACK) /* lib/base/addr.h */
int metrics_parse_addr(const char *s, char *addr, size_t addrlen, int *family, int *port,
		       char *err, size_t errlen);

#endif
