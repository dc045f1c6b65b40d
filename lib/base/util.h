/*
 * util.h - small things every part of conform needs: clocks, durations,
 * key=value logging, a capped growable buffer, and safe string helpers.
 * Nothing here prints to stdout or exits.
 */
#ifndef CONFORM_UTIL_H
#define CONFORM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Clocks. mono_* never jump; wall_* are unix time. */
int64_t mono_ns(void);
int64_t mono_ms(void);
int64_t wall_us(void);
double wall_s(void);

/*
 * Parse a duration like "90s", "500ms", "2h", "3d", "1h30m" or a bare number
 * of seconds into milliseconds. Returns 0, or -1 when the text is not a
 * duration (then *out_ms is untouched). "0" is valid and means 0.
 */
int dur_parse(const char *s, int64_t *out_ms);
/* Format ms as a short human duration ("1m30s", "250ms") into buf. */
const char *dur_format(int64_t ms, char *buf, size_t len);
/* Format unix seconds as RFC 3339 UTC ("2026-11-22T04:11:00Z") into buf. */
const char *time_rfc3339(double unix_s, char *buf, size_t len);

/*
 * Logging: one line per record on stderr, key=value, e.g.
 *   ts=2026-11-22T04:11:00.123Z level=info prog=conformd msg="window evaluated" check=http.basic
 * log_kv takes a message and a printf format for the rest of the keys.
 * Values with spaces must be quoted by the caller (use %s with log_quote()).
 */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
void log_init(const char *prog, enum log_level min);
void log_kv(enum log_level lvl, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Quote a value for a key=value log line into buf (escapes " \ and newlines). */
const char *log_quote(const char *s, char *buf, size_t len);

/*
 * dynbuf: a growable NUL-terminated byte buffer with a hard cap (curl's
 * dynbuf). Appends that would exceed cap fail with -1 (E2BIG) and leave the
 * buffer as it was. dynbuf_release frees and resets; dynbuf_detach hands the
 * memory to the caller (who frees it) and resets the buffer.
 */
struct dynbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;
};
#define DYNBUF_INIT(c) { NULL, 0, 0, (c) }
void dynbuf_init(struct dynbuf *b, size_t cap);
void dynbuf_release(struct dynbuf *b);
char *dynbuf_detach(struct dynbuf *b, size_t *len);
int dynbuf_add(struct dynbuf *b, const void *p, size_t n);
int dynbuf_adds(struct dynbuf *b, const char *s);
int dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void dynbuf_reset(struct dynbuf *b);
/*
 * dynw: a writer over a dynbuf whose first error sticks, for renderers that
 * append many pieces and check once at the end (err != 0: something did not
 * fit or memory ran out; the buffer then holds a prefix).
 */
struct dynw {
	struct dynbuf *b;
	int err;
};
void dynw_adds(struct dynw *w, const char *s);
void dynw_addf(struct dynw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s escaped for JSON (without the quotes) / XML text or attribute. */
int dynbuf_add_json_str(struct dynbuf *b, const char *s);
int dynbuf_add_xml_str(struct dynbuf *b, const char *s);

/* names[0..n) joined into out: sep between them, last before the last one
 * (NULL = sep), each in double quotes when quote; truncated to len. Returns
 * out. ("json, junit, md or html") */
char *str_join(char *out, size_t len, const char *const *names, size_t n, const char *sep,
	       const char *last, int quote);

/* Bounded string helpers. Both always NUL-terminate (len > 0) and return
 * -1 when the result was truncated. */
int str_copy(char *dst, size_t len, const char *src);
int str_fmt(char *dst, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Strict number parsing: whole string, in range; 0 or -1. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int parse_double(const char *s, double min, double max, double *out);

/* Read a whole file (at most cap bytes) into a new NUL-terminated buffer the
 * caller frees. Returns NULL with errno set on error or when too big. */
char *file_read(const char *path, size_t cap, size_t *len);
/* Write data to path atomically (tmp file + fsync + rename), mode as given. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode);
/* mkdir -p with mode for each created component. */
int mkdir_p(const char *path, int mode);

/* 64 random bits from the kernel (getrandom). */
uint64_t rand_u64(void);
/* Fill buf with n lowercase hex chars of randomness (+NUL; len >= n+1). */
void rand_hex(char *buf, size_t n);
/* Uniform double in [0,1) from a per-thread xorshift seeded from getrandom. */
double rand_unit(void);

#endif
