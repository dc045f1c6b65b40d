/*
 * yaml.c - cJSON to block YAML for `conform manifests`: readable output a
 * user reviews or commits for GitOps, with every string that could be read
 * as something else (a number, a bool, null, a flow or a comment) quoted.
 */
#include "platform/kubernetes/yaml.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* words YAML 1.1 (PyYAML, kustomize v2) reads as bools or null */
static const char *const yaml_words[] = {
	"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
};

/* Can s be written plain and read back as the same string? Conservative:
 * a letter, '_' or '/' first, then letters, digits, "_./-" and ':' (not
 * last; no space follows it, so it is no key) only. */
static int yaml_plain(const char *s)
{
	size_t i;

	if (!*s || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == '/'))
		return 0;
	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_./-", s[i]) &&
		    !(s[i] == ':' && s[i + 1]))   /* "conform:0.1.0"; a last ':' would be a key */
			return 0;
	for (i = 0; i < ARRAY_SIZE(yaml_words); i++)
		if (!strcasecmp(s, yaml_words[i]))
			return 0;
	return 1;
}

static void yaml_str(struct dynw *w, const char *s)
{
	if (yaml_plain(s)) {
		dynw_adds(w, s);
		return;
	}
	dynw_adds(w, "\"");
	if (!w->err && dynbuf_add_json_str(w->b, s))
		w->err = 1;
	dynw_adds(w, "\"");
}

static void yaml_scalar(struct dynw *w, const cJSON *v)
{
	if (cJSON_IsString(v))
		yaml_str(w, v->valuestring ? v->valuestring : "");
	else if (cJSON_IsBool(v))
		dynw_adds(w, cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
		 fabs(v->valuedouble) < 9007199254740992.0)
		dynw_addf(w, "%.0f", v->valuedouble);
	else if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
		dynw_addf(w, "%.17g", v->valuedouble);
	else
		dynw_adds(w, "null");
}

static int yaml_is_coll(const cJSON *v)
{
	return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child;
}

static void yaml_pad(struct dynw *w, int n)
{
	for (int i = 0; i < n; i++)
		dynw_adds(w, " ");
}

static void yaml_node(struct dynw *w, const cJSON *v, int indent, int depth);

/* a value after "key:" or "- " on the same line: scalar, {} or [] */
static void yaml_inline(struct dynw *w, const cJSON *v)
{
	if (cJSON_IsObject(v))
		dynw_adds(w, "{}");
	else if (cJSON_IsArray(v))
		dynw_adds(w, "[]");
	else
		yaml_scalar(w, v);
}

/*
 * A non-empty object or array at indent. The first line's indent is
 * already written when first_done (a "- " prefix put us there).
 */
static void yaml_coll(struct dynw *w, const cJSON *v, int indent, int first_done, int depth)
{
	const cJSON *it;
	int first = 1;

	if (depth > 64) {      /* objects of ours are shallow; a cycle cannot happen in cJSON */
		w->err = 1;
		return;
	}
	cJSON_ArrayForEach(it, v) {
		if (!(first && first_done))
			yaml_pad(w, indent);
		first = 0;
		if (cJSON_IsArray(v)) {
			dynw_adds(w, "-");
			if (yaml_is_coll(it)) {
				if (cJSON_IsObject(it)) {
					dynw_adds(w, " ");
					yaml_coll(w, it, indent + 2, 1, depth + 1);
				} else {
					dynw_adds(w, "\n");
					yaml_coll(w, it, indent + 2, 0, depth + 1);
				}
				continue;
			}
			dynw_adds(w, " ");
			yaml_inline(w, it);
			dynw_adds(w, "\n");
			continue;
		}
		yaml_str(w, it->string ? it->string : "");
		dynw_adds(w, ":");
		if (yaml_is_coll(it)) {
			dynw_adds(w, "\n");
			/* kubectl's style: a sequence under a key at the key's indent */
			yaml_node(w, it, cJSON_IsArray(it) ? indent : indent + 2, depth + 1);
			continue;
		}
		dynw_adds(w, " ");
		yaml_inline(w, it);
		dynw_adds(w, "\n");
	}
}

static void yaml_node(struct dynw *w, const cJSON *v, int indent, int depth)
{
	yaml_coll(w, v, indent, 0, depth);
}

int kube_yaml_emit(const cJSON *doc, struct dynbuf *b)
{
	struct dynw w = { b, 0 };

	if (yaml_is_coll(doc)) {
		yaml_node(&w, doc, 0, 0);
	} else {
		yaml_inline(&w, doc);
		dynw_adds(&w, "\n");
	}
	return w.err ? -1 : 0;
}
