/*
 * yaml.h - a small YAML emitter for the objects conform prints (`conform
 * manifests`): block style as kubectl writes it (two-space indent, a
 * sequence under a key at the key's indent), strings plain when YAML 1.1
 * and 1.2 read them back as the same string, else double-quoted with JSON's
 * escapes (valid YAML double-quoted escapes). The result loads back into the
 * same JSON (test_kube_objects checks that with PyYAML).
 */
#ifndef CONFORM_KUBE_YAML_H
#define CONFORM_KUBE_YAML_H

#include <cjson/cJSON.h>

#include "base/util.h"

/* Append doc (an object, array or scalar) to b as one YAML document,
 * without a "---" line. 0, or -1 when b's cap is reached or memory runs out. */
int kube_yaml_emit(const cJSON *doc, struct dynbuf *b);

#endif
