/*
 * markup.h - a small well-formedness walk over the markup the report
 * renderers write (junit.xml, report.html), shared by their unit tests so
 * that both documents are held to one idea of nesting and quoting.
 */
#ifndef CONFORM_TEST_MARKUP_H
#define CONFORM_TEST_MARKUP_H

#include <string.h>

enum markup_kind {
	MARKUP_HTML,   /* after "<!DOCTYPE html>\n"; void elements written self-closed */
	MARKUP_XML,    /* after "<?xml ...?>"; one root, no text outside it */
};

#define MARKUP_DEPTH_MAX 64

/* 0 when the entity at p ('&') is one kind allows: XML's five predefined
 * ones, or for HTML any name or character reference ended by ';'. */
static inline int markup_entity(const char *p, enum markup_kind kind)
{
	size_t n;

	if (kind == MARKUP_XML)
		return strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) && strncmp(p, "&amp;", 5) &&
		       strncmp(p, "&quot;", 6) && strncmp(p, "&apos;", 6) ? -1 : 0;
	n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz#x0123456789ABCDEF");
	return n && p[1 + n] == ';' ? 0 : -1;
}

/*
 * Walks the document p of kind: after the prolog, tags nest and close in
 * order (at most MARKUP_DEPTH_MAX deep), attribute values are quoted without
 * '<', and '&' only starts an entity markup_entity allows (in XML, not inside
 * a tag outside quotes). 0 when well-formed, else a negative step number.
 */
static inline int markup_walk(const char *p, enum markup_kind kind)
{
	const char *stack[MARKUP_DEPTH_MAX];
	size_t lens[MARKUP_DEPTH_MAX];
	int depth = 0, root_seen = 0, xml = kind == MARKUP_XML;

	if (xml) {
		if (strncmp(p, "<?xml ", 6))
			return -1;
		p = strstr(p, "?>");
		if (!p)
			return -1;
		p += 2;
	} else {
		if (strncmp(p, "<!DOCTYPE html>\n", 16))
			return -1;
		p += 16;
	}
	while (*p) {
		if (*p == '&') {
			if (markup_entity(p, kind))
				return -2;
			p++;
			continue;
		}
		if (*p != '<') {
			if (xml && !depth && *p != '\n' && *p != ' ')
				return -3;   /* text outside the root */
			p++;
			continue;
		}
		if (p[1] == '/') {
			const char *name = p + 2;
			size_t n = strcspn(name, ">");

			if (!depth || n != lens[depth - 1] || strncmp(name, stack[depth - 1], n))
				return -4;
			depth--;
			p = name + n + 1;
			continue;
		}
		{
			const char *name = p + 1;
			size_t n = strcspn(name, xml ? " />" : " />\n");
			const char *q = name + n;
			int self = 0;

			if (xml ? !depth && root_seen : !n)
				return -5;   /* a second root, or a tag without a name */
			while (*q && *q != '>') {
				if (*q == '"') {
					const char *end = strchr(q + 1, '"');

					if (!end || memchr(q + 1, '<', (size_t)(end - q - 1)))
						return -6;
					q = end;
				} else if (*q == '<' || (xml && *q == '&')) {
					return -7;
				}
				if (*q == '/' && q[1] == '>')
					self = 1;
				q++;
			}
			if (!*q)
				return -8;
			if (!self) {
				if (depth == MARKUP_DEPTH_MAX)
					return -9;
				stack[depth] = name;
				lens[depth++] = n;
			}
			root_seen = 1;
			p = q + 1;
		}
	}
	return depth ? -10 : 0;
}

#endif
