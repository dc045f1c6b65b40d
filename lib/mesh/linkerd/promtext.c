/*
 * promtext.c - Prometheus text exposition (0.0.4) parser and the per-series
 * deltas between two scrapes. No C library for it is packaged, and the proxy
 * metrics are outside input: every line is bounded and checked, and a bad
 * one fails the whole scrape with its line number rather than being guessed at.
 */
#include "mesh/linkerd/promtext.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Names and values are offsets into the set's private copy of the text. */
struct prom_lab {
	uint32_t name, value;
};

struct prom_smp {
	uint32_t name;
	uint32_t lab;       /* first label in set->lab */
	uint16_t nlab;
	uint8_t has_ts;
	double value;
	int64_t ts;
};

struct prom_fam {
	uint32_t name;
	enum prom_type type;
};

struct prom_set {
	char *text;
	size_t textlen;
	struct prom_smp *smp;
	size_t nsmp, asmp;
	struct prom_lab *lab;
	size_t nlab, alab;
	struct prom_fam *fam;
	size_t nfam, afam;
};

/* Grows *arr (of elem-sized items, *alloc of them) to hold one more. */
static int prom_grow(void **arr, size_t *alloc, size_t used, size_t elem)
{
	size_t n;
	void *p;

	if (used < *alloc)
		return 0;
	n = *alloc ? *alloc * 2 : 64;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*alloc = n;
	return 0;
}

/* The parse state of one line: [p, end) inside the set's text copy. */
struct prom_lexer {
	struct prom_set *s;
	char *p, *end;
	size_t line;
	char *err;
	size_t errlen;
};

static int prom_fail(struct prom_lexer *lx, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int prom_fail(struct prom_lexer *lx, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (lx->err && lx->errlen) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(lx->err, lx->errlen, "line %zu: %s", lx->line, what);
	}
	return rc;
}

static void prom_blanks(struct prom_lexer *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		lx->p++;
}

static int prom_is_name_start(int c, int colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int prom_is_name_char(int c, int colon)
{
	return prom_is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Reads a metric name (colon = 1) or label name at lx->p; sets *start and
 * *len. The caller terminates it once the next delimiter has been read. */
static int prom_name_tok(struct prom_lexer *lx, int colon, const char *what, char **start,
			 size_t *len)
{
	char *b = lx->p;

	if (lx->p >= lx->end || !prom_is_name_start((unsigned char)*lx->p, colon))
		return prom_fail(lx, -EINVAL, "%s expected, found %s", what,
				 lx->p < lx->end ? "an invalid character" : "the end of the line");
	while (lx->p < lx->end && prom_is_name_char((unsigned char)*lx->p, colon))
		lx->p++;
	if ((size_t)(lx->p - b) > PROM_NAME_MAX)
		return prom_fail(lx, -E2BIG, "%s longer than %d bytes", what, PROM_NAME_MAX);
	*start = b;
	*len = (size_t)(lx->p - b);
	return 0;
}

/* A non-blank token at lx->p, copied NUL-terminated into buf. */
static int prom_word(struct prom_lexer *lx, char *buf, size_t len)
{
	char *b = lx->p;
	size_t n;

	while (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t')
		lx->p++;
	n = (size_t)(lx->p - b);
	if (n == 0 || n >= len)
		return -1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	return 0;
}

static int prom_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* A sample value as Go's strconv.ParseFloat reads it (what Prometheus uses),
 * without hex floats or underscores. 0 or -1. */
static int prom_float(const char *t, double *out)
{
	const char *u = t;
	char *end;
	int digits = 0;

	if (*u == '+' || *u == '-')
		u++;
	if (prom_ieq(u, "inf") || prom_ieq(u, "infinity")) {
		*out = *t == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (prom_ieq(u, "nan")) {
		*out = NAN;
		return 0;
	}
	for (const char *c = t; *c; c++) {
		if (*c >= '0' && *c <= '9')
			digits++;
		else if (!strchr("+-.eE", *c))
			return -1;
	}
	if (!digits)
		return -1;
	errno = 0;
	*out = strtod(t, &end);
	if (*end || end == t)
		return -1;
	/* overflow gives +-HUGE_VAL as ParseFloat gives +-Inf; underflow is 0 */
	return 0;
}

static const struct {
	const char *word;
	enum prom_type type;
} prom_types[] = {
	{ "counter", PROM_COUNTER },     { "gauge", PROM_GAUGE },
	{ "histogram", PROM_HISTOGRAM }, { "summary", PROM_SUMMARY },
	{ "untyped", PROM_UNTYPED },     { "unknown", PROM_UNTYPED },
	{ "info", PROM_OTHER },          { "stateset", PROM_OTHER },
	{ "gaugehistogram", PROM_OTHER },
};

static const char *prom_str(const struct prom_set *s, uint32_t off)
{
	return s->text + off;
}

static struct prom_fam *prom_fam_find(const struct prom_set *s, const char *name, size_t n)
{
	for (size_t i = 0; i < s->nfam; i++) {
		const char *f = prom_str(s, s->fam[i].name);

		if (strlen(f) == n && memcmp(f, name, n) == 0)
			return &s->fam[i];
	}
	return NULL;
}

/* "# HELP ...", "# TYPE ..." or a comment; lx->p is just past '#'. */
static int prom_comment(struct prom_lexer *lx)
{
	struct prom_set *s = lx->s;
	char kw[8], tw[24], *name;
	size_t nlen;
	int rc;

	prom_blanks(lx);
	if (prom_word(lx, kw, sizeof(kw)) ||
	    (strcmp(kw, "HELP") != 0 && strcmp(kw, "TYPE") != 0))
		return 0;   /* a comment ("# EOF" included) */
	prom_blanks(lx);
	rc = prom_name_tok(lx, 1, strcmp(kw, "HELP") ? "metric name after TYPE"
						  : "metric name after HELP", &name, &nlen);
	if (rc)
		return rc;
	if (!strcmp(kw, "HELP")) {
		/* the docstring: only \\ and \n are escapes */
		for (char *c = lx->p; c < lx->end; c++) {
			if (*c != '\\')
				continue;
			if (c + 1 >= lx->end || (c[1] != '\\' && c[1] != 'n'))
				return prom_fail(lx, -EINVAL, "invalid escape in HELP text of %.*s "
					"(only \\\\ and \\n are allowed)", (int)nlen, name);
			c++;
		}
		return 0;
	}
	if (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t')
		return prom_fail(lx, -EINVAL, "invalid character in metric name after TYPE");
	prom_blanks(lx);
	if (prom_word(lx, tw, sizeof(tw)))
		return prom_fail(lx, -EINVAL, "TYPE of %.*s: type missing or too long",
				 (int)nlen, name);
	prom_blanks(lx);
	if (lx->p != lx->end)
		return prom_fail(lx, -EINVAL, "TYPE of %.*s: unexpected text after the type",
				 (int)nlen, name);
	for (size_t i = 0; i < sizeof(prom_types) / sizeof(prom_types[0]); i++) {
		if (strcmp(tw, prom_types[i].word))
			continue;
		if (prom_fam_find(s, name, nlen))
			return prom_fail(lx, -EINVAL, "second TYPE line for %.*s", (int)nlen, name);
		if (prom_grow((void **)&s->fam, &s->afam, s->nfam, sizeof(*s->fam)))
			return -ENOMEM;
		name[nlen] = '\0';   /* the blank after the name */
		s->fam[s->nfam].name = (uint32_t)(name - s->text);
		s->fam[s->nfam].type = prom_types[i].type;
		s->nfam++;
		return 0;
	}
	return prom_fail(lx, -EINVAL, "TYPE of %.*s: unknown type \"%s\"", (int)nlen, name, tw);
}

/* A quoted label value at lx->p (just past the opening quote), decoded in
 * place; *off gets its offset. */
static int prom_label_value(struct prom_lexer *lx, const char *lname, uint32_t *off)
{
	char *b = lx->p, *o = lx->p;

	for (;;) {
		char c;

		if (lx->p >= lx->end)
			return prom_fail(lx, -EINVAL, "label value of \"%s\" is not closed by a quote",
					 lname);
		c = *lx->p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if (lx->p >= lx->end)
				return prom_fail(lx, -EINVAL, "label value of \"%s\" ends in a lone "
						 "backslash", lname);
			c = *lx->p++;
			if (c == 'n')
				c = '\n';
			else if (c != '\\' && c != '"')
				return prom_fail(lx, -EINVAL, "label value of \"%s\" has an invalid "
						 "escape (only \\\\ \\\" \\n are allowed)", lname);
		}
		if ((size_t)(o - b) >= PROM_VALUE_MAX)
			return prom_fail(lx, -E2BIG, "label value of \"%s\" longer than %d bytes",
					 lname, PROM_VALUE_MAX);
		*o++ = c;
	}
	*o = '\0';   /* o < lx->p: the closing quote at the latest */
	*off = (uint32_t)(b - lx->s->text);
	return 0;
}

static int prom_labels(struct prom_lexer *lx, struct prom_smp *sm)
{
	struct prom_set *s = lx->s;
	char *ln;
	size_t llen;
	int rc;

	lx->p++;   /* '{' */
	for (;;) {
		struct prom_lab *l;
		char lname[PROM_NAME_MAX + 1];

		prom_blanks(lx);
		if (lx->p < lx->end && *lx->p == '}') {
			lx->p++;
			return 0;
		}
		rc = prom_name_tok(lx, 0, "label name", &ln, &llen);
		if (rc)
			return rc;
		memcpy(lname, ln, llen);
		lname[llen] = '\0';
		prom_blanks(lx);
		if (lx->p >= lx->end || *lx->p != '=')
			return prom_fail(lx, -EINVAL, "'=' expected after label name \"%s\"", lname);
		lx->p++;
		ln[llen] = '\0';   /* a blank or the '=' just read */
		prom_blanks(lx);
		if (lx->p >= lx->end || *lx->p != '"')
			return prom_fail(lx, -EINVAL, "label value of \"%s\" must be quoted", lname);
		lx->p++;
		for (size_t j = 0; j < sm->nlab; j++)
			if (!strcmp(prom_str(s, s->lab[sm->lab + j].name), lname))
				return prom_fail(lx, -EINVAL, "label \"%s\" twice on one sample",
						 lname);
		if (sm->nlab >= PROM_LABELS_MAX)
			return prom_fail(lx, -E2BIG, "more than %d labels on one sample",
					 PROM_LABELS_MAX);
		if (prom_grow((void **)&s->lab, &s->alab, s->nlab, sizeof(*s->lab)))
			return -ENOMEM;
		l = &s->lab[s->nlab];
		l->name = (uint32_t)(ln - s->text);
		rc = prom_label_value(lx, lname, &l->value);
		if (rc)
			return rc;
		s->nlab++;
		sm->nlab++;
		prom_blanks(lx);
		if (lx->p < lx->end && *lx->p == ',') {
			lx->p++;
			continue;
		}
		if (lx->p < lx->end && *lx->p == '}') {
			lx->p++;
			return 0;
		}
		return prom_fail(lx, -EINVAL, "',' or '}' expected after the value of label \"%s\"",
				 lname);
	}
}

static int prom_sample(struct prom_lexer *lx)
{
	struct prom_set *s = lx->s;
	struct prom_smp sm;
	char *name, tok[64], nm[PROM_NAME_MAX + 1];
	size_t nlen, lab0 = s->nlab;
	int rc;

	memset(&sm, 0, sizeof(sm));
	rc = prom_name_tok(lx, 1, "metric name", &name, &nlen);
	if (rc)
		return rc;
	memcpy(nm, name, nlen);
	nm[nlen] = '\0';
	sm.lab = (uint32_t)s->nlab;
	if (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t' && *lx->p != '{') {
		rc = prom_fail(lx, -EINVAL, "invalid character '%c' in metric name %s",
			       *lx->p >= 0x20 && *lx->p < 0x7f ? *lx->p : '?', nm);
		goto out;
	}
	prom_blanks(lx);
	if (lx->p < lx->end && *lx->p == '{') {
		rc = prom_labels(lx, &sm);
		if (rc)
			goto out;
	}
	if (lx->p >= lx->end) {
		rc = prom_fail(lx, -EINVAL, "%s: value expected after the %s", nm,
			       sm.nlab || lx->p[-1] == '}' ? "labels" : "name");
		goto out;
	}
	name[nlen] = '\0';   /* a blank or the '{' already read */
	prom_blanks(lx);
	if (prom_word(lx, tok, sizeof(tok)) || prom_float(tok, &sm.value)) {
		rc = prom_fail(lx, -EINVAL, "%s: invalid sample value", nm);
		goto out;
	}
	prom_blanks(lx);
	if (lx->p < lx->end) {
		if (prom_word(lx, tok, sizeof(tok)) ||
		    parse_i64(tok, INT64_MIN, INT64_MAX, &sm.ts) || tok[0] == '+') {
			rc = prom_fail(lx, -EINVAL, "%s: invalid timestamp (integer milliseconds "
				       "expected)", nm);
			goto out;
		}
		sm.has_ts = 1;
		prom_blanks(lx);
		if (lx->p < lx->end) {
			rc = prom_fail(lx, -EINVAL, "%s: unexpected text after the timestamp", nm);
			goto out;
		}
	}
	if (s->nsmp >= PROM_SAMPLES_MAX) {
		rc = prom_fail(lx, -E2BIG, "more than %d samples", PROM_SAMPLES_MAX);
		goto out;
	}
	if (prom_grow((void **)&s->smp, &s->asmp, s->nsmp, sizeof(*s->smp))) {
		rc = -ENOMEM;
		goto out;
	}
	sm.name = (uint32_t)(name - s->text);
	s->smp[s->nsmp++] = sm;
	rc = 0;
out:
	if (rc)
		s->nlab = lab0;
	return rc;
}

void prom_set_free(struct prom_set *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->smp);
	free(s->lab);
	free(s->fam);
	free(s);
}

int prom_parse(const char *text, size_t len, struct prom_set **out, char *err, size_t errlen)
{
	struct prom_set *s;
	struct prom_lexer lx;
	char *line;
	int rc = 0;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	memset(&lx, 0, sizeof(lx));
	lx.err = err;
	lx.errlen = errlen;
	lx.line = 1;
	if (len > PROM_BODY_MAX)
		return prom_fail(&lx, -E2BIG, "body of %zu bytes is over the %u byte limit", len,
				 PROM_BODY_MAX);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->text = malloc(len + 1);
	if (!s->text) {
		rc = -ENOMEM;
		goto out;
	}
	if (len)
		memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->textlen = len;
	lx.s = s;
	for (line = s->text; line < s->text + len; lx.line++) {
		char *nl = memchr(line, '\n', (size_t)(s->text + len - line));
		char *end = nl ? nl : s->text + len;

		if ((size_t)(end - line) > PROM_LINE_MAX) {
			rc = prom_fail(&lx, -E2BIG, "line longer than %d bytes", PROM_LINE_MAX);
			goto out;
		}
		if (memchr(line, '\0', (size_t)(end - line))) {
			rc = prom_fail(&lx, -EINVAL, "NUL byte in the text");
			goto out;
		}
		*end = '\0';
		if (end > line && end[-1] == '\r')
			*--end = '\0';
		lx.p = line;
		lx.end = end;
		prom_blanks(&lx);
		if (lx.p < lx.end && *lx.p == '#') {
			lx.p++;
			rc = prom_comment(&lx);
		} else if (lx.p < lx.end) {
			rc = prom_sample(&lx);
		}
		if (rc)
			goto out;
		line = nl ? nl + 1 : s->text + len;
	}
out:
	if (rc) {
		if (rc == -ENOMEM && err && errlen)
			snprintf(err, errlen, "line %zu: out of memory", lx.line);
		prom_set_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

size_t prom_count(const struct prom_set *s)
{
	return s ? s->nsmp : 0;
}

const char *prom_name(const struct prom_set *s, size_t i)
{
	return prom_str(s, s->smp[i].name);
}

double prom_value(const struct prom_set *s, size_t i)
{
	return s->smp[i].value;
}

int prom_timestamp(const struct prom_set *s, size_t i, int64_t *ts_ms)
{
	if (!s->smp[i].has_ts)
		return -ENOENT;
	*ts_ms = s->smp[i].ts;
	return 0;
}

const char *prom_label(const struct prom_set *s, size_t i, const char *name)
{
	const struct prom_smp *sm = &s->smp[i];

	for (size_t j = 0; j < sm->nlab; j++)
		if (!strcmp(prom_str(s, s->lab[sm->lab + j].name), name))
			return prom_str(s, s->lab[sm->lab + j].value);
	return NULL;
}

size_t prom_nlabels(const struct prom_set *s, size_t i)
{
	return s->smp[i].nlab;
}

void prom_label_at(const struct prom_set *s, size_t i, size_t j, const char **name,
		   const char **value)
{
	const struct prom_lab *l = &s->lab[s->smp[i].lab + j];

	*name = prom_str(s, l->name);
	*value = prom_str(s, l->value);
}

enum prom_type prom_type_of(const struct prom_set *s, const char *name)
{
	static const char *const suffixes[] = { "_total", "_bucket", "_count", "_sum",
						"_created", "_gcount", "_gsum", "_info" };
	size_t n = strlen(name);
	struct prom_fam *f = prom_fam_find(s, name, n);

	if (f)
		return f->type;
	for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
		size_t sl = strlen(suffixes[k]);

		if (n > sl && !strcmp(name + n - sl, suffixes[k])) {
			f = prom_fam_find(s, name, n - sl);
			if (f)
				return f->type;
		}
	}
	return PROM_UNTYPED;
}

int prom_matches(const struct prom_set *s, size_t i, const struct prom_matcher *m, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const char *v = prom_label(s, i, m[k].label);
		int eq = !strcmp(v ? v : "", m[k].value ? m[k].value : "");

		if (eq != (m[k].op == PROM_EQ))
			return 0;
	}
	return 1;
}

double prom_sum(const struct prom_set *s, const char *name, const struct prom_matcher *m,
		size_t n, size_t *nmatched)
{
	double sum = 0;
	size_t hit = 0;

	for (size_t i = 0; s && i < s->nsmp; i++) {
		if (strcmp(prom_name(s, i), name) || !prom_matches(s, i, m, n))
			continue;
		hit++;
		if (!isnan(s->smp[i].value))
			sum += s->smp[i].value;
	}
	if (nmatched)
		*nmatched = hit;
	return sum;
}

int prom_each(const struct prom_set *s, const char *name, const struct prom_matcher *m, size_t n,
	      int (*fn)(const struct prom_set *s, size_t i, void *arg), void *arg)
{
	for (size_t i = 0; s && i < s->nsmp; i++) {
		int rc;

		if (strcmp(prom_name(s, i), name) || !prom_matches(s, i, m, n))
			continue;
		rc = fn(s, i, arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- deltas ---- */

/* The identity of a series: its name and its labels sorted by name, each
 * string followed by a NUL, which no name or (parsed) value can hold. */
static int prom_series_key(const struct prom_set *s, size_t i, struct dynbuf *b)
{
	const struct prom_smp *sm = &s->smp[i];
	uint16_t idx[PROM_LABELS_MAX];

	dynbuf_reset(b);
	for (uint16_t j = 0; j < sm->nlab; j++) {
		uint16_t k = j;

		while (k > 0 && strcmp(prom_str(s, s->lab[sm->lab + idx[k - 1]].name),
				       prom_str(s, s->lab[sm->lab + j].name)) > 0) {
			idx[k] = idx[k - 1];
			k--;
		}
		idx[k] = j;
	}
	if (dynbuf_add(b, prom_name(s, i), strlen(prom_name(s, i)) + 1))
		return -ENOMEM;
	for (uint16_t j = 0; j < sm->nlab; j++) {
		const struct prom_lab *l = &s->lab[sm->lab + idx[j]];
		const char *n = prom_str(s, l->name), *v = prom_str(s, l->value);

		if (dynbuf_add(b, n, strlen(n) + 1) || dynbuf_add(b, v, strlen(v) + 1))
			return -ENOMEM;
	}
	return 0;
}

static uint64_t prom_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct prom_slot {
	uint64_t hash;
	char *key;          /* NULL: empty slot */
	size_t keylen;
	double value;
	uint32_t nprev;     /* occurrences of the series in prev (on its first slot) */
	uint32_t ncur;      /* occurrences matched in cur so far (idem) */
};

struct prom_tab {
	struct prom_slot *s;
	size_t mask;
};

/* The slot of key: its own, or the empty one where it would go. */
static struct prom_slot *prom_tab_slot(struct prom_tab *t, const char *key, size_t len)
{
	uint64_t h = prom_hash(key, len);
	size_t k;

	for (k = h & t->mask; t->s[k].key; k = (k + 1) & t->mask)
		if (t->s[k].hash == h && t->s[k].keylen == len && !memcmp(t->s[k].key, key, len))
			break;
	t->s[k].hash = h;
	return &t->s[k];
}

/* A series repeated within one scrape is matched occurrence by occurrence:
 * the n-th one (n > 0) is keyed as the series, a NUL and n, which reads as
 * an empty label name no parsed series can have. */
static int prom_key_occurrence(struct dynbuf *b, uint32_t n)
{
	if (dynbuf_add(b, "", 1))
		return -ENOMEM;
	return dynbuf_addf(b, "%u", (unsigned)n) ? -ENOMEM : 0;
}

/* 1 when sample name is a cumulative series (differenced). */
static int prom_cumulative(const struct prom_set *s, size_t i)
{
	switch (prom_type_of(s, prom_name(s, i))) {
	case PROM_COUNTER:
	case PROM_HISTOGRAM:
		return 1;
	case PROM_SUMMARY:
		return prom_label(s, i, "quantile") == NULL;
	default:
		return 0;
	}
}

static int prom_start_time(const struct prom_set *s, double *t)
{
	size_t n = 0;

	*t = prom_sum(s, "process_start_time_seconds", NULL, 0, &n);
	return n == 1 ? 0 : -1;
}

static struct prom_set *prom_set_dup(const struct prom_set *s)
{
	struct prom_set *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->text = malloc(s->textlen + 1);
	d->smp = malloc((s->nsmp ? s->nsmp : 1) * sizeof(*d->smp));
	d->lab = malloc((s->nlab ? s->nlab : 1) * sizeof(*d->lab));
	d->fam = malloc((s->nfam ? s->nfam : 1) * sizeof(*d->fam));
	if (!d->text || !d->smp || !d->lab || !d->fam) {
		prom_set_free(d);
		return NULL;
	}
	memcpy(d->text, s->text, s->textlen + 1);
	d->textlen = s->textlen;
	if (s->nsmp)
		memcpy(d->smp, s->smp, s->nsmp * sizeof(*d->smp));
	if (s->nlab)
		memcpy(d->lab, s->lab, s->nlab * sizeof(*d->lab));
	if (s->nfam)
		memcpy(d->fam, s->fam, s->nfam * sizeof(*d->fam));
	d->nsmp = d->asmp = s->nsmp;
	d->nlab = d->alab = s->nlab;
	d->nfam = d->afam = s->nfam;
	return d;
}

int prom_delta(const struct prom_set *prev, const struct prom_set *cur, struct prom_set **out,
	       uint64_t *resets, int *restarted)
{
	struct dynbuf key = DYNBUF_INIT(PROM_LINE_MAX * 2);
	struct prom_tab tab = { NULL, 0 };
	struct prom_set *d;
	size_t ntab = 0;
	uint64_t nreset = 0;
	double t0, t1;
	int restart = 0, rc = -ENOMEM;

	*out = NULL;
	d = prom_set_dup(cur);
	if (!d)
		goto out;
	if (prev && !prom_start_time(prev, &t0) && !prom_start_time(cur, &t1) && t0 != t1)
		restart = 1;
	if (prev && prev->nsmp) {
		for (ntab = 16; ntab < prev->nsmp * 2; ntab *= 2)
			;
		tab.mask = ntab - 1;
		tab.s = calloc(ntab, sizeof(*tab.s));
		if (!tab.s)
			goto out;
		for (size_t i = 0; i < prev->nsmp; i++) {
			struct prom_slot *first, *sl;

			if (!prom_cumulative(prev, i))
				continue;
			if (prom_series_key(prev, i, &key))
				goto out;
			sl = first = prom_tab_slot(&tab, key.buf, key.len);
			if (first->key) {
				if (prom_key_occurrence(&key, first->nprev))
					goto out;
				sl = prom_tab_slot(&tab, key.buf, key.len);
			}
			if (!sl->key) {
				sl->key = malloc(key.len);
				if (!sl->key)
					goto out;
				memcpy(sl->key, key.buf, key.len);
				sl->keylen = key.len;
			}
			first->nprev++;
			sl->value = prev->smp[i].value;
		}
	}
	for (size_t i = 0; i < d->nsmp; i++) {
		double v = d->smp[i].value, was;
		struct prom_slot *sl;
		uint32_t occ;

		if (!prom_cumulative(d, i))
			continue;
		if (restart) {
			nreset++;
			continue;
		}
		if (!tab.s)
			continue;
		if (prom_series_key(d, i, &key))
			goto out;
		sl = prom_tab_slot(&tab, key.buf, key.len);
		if (!sl->key)
			continue;   /* new series: counted from 0 */
		occ = sl->ncur++;
		if (occ >= sl->nprev)
			continue;   /* more occurrences than before: the extra ones are new */
		if (occ > 0) {
			if (prom_key_occurrence(&key, occ))
				goto out;
			sl = prom_tab_slot(&tab, key.buf, key.len);
			if (!sl->key)
				continue;
		}
		was = sl->value;
		if (isnan(v) || isnan(was))
			continue;
		if (v < was)
			nreset++;   /* went down: the proxy restarted, v counted from 0 */
		else
			d->smp[i].value = v - was;
	}
	rc = 0;
out:
	for (size_t k = 0; tab.s && k < ntab; k++)
		free(tab.s[k].key);
	free(tab.s);
	dynbuf_release(&key);
	if (rc) {
		prom_set_free(d);
		return rc;
	}
	if (resets)
		*resets = nreset;
	if (restarted)
		*restarted = restart;
	*out = d;
	return 0;
}
