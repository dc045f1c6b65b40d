/*
 * cmd_manifests.c - `conform manifests`: every object a run on Kubernetes
 * applies (namespace, conformd's objects, the workloads), built by the same
 * code the kubernetes platform applies them with, printed as one YAML
 * stream, as `linkerd install` prints its own, for review or GitOps. No
 * cluster is needed.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config/config.h"
#include "mesh/mesh.h"
#include "platform/kubernetes/objects.h"
#include "platform/kubernetes/yaml.h"

int cmd_manifests(const struct cli_opts *o)
{
	struct run_config c;
	struct kube_run r;
	struct dynbuf b = DYNBUF_INIT(8u << 20);
	char err[1024];
	const cJSON *d;
	cJSON *objs;
	int rc = EXIT_CONFORMANT;

	if (cli_no_args(o, "manifests"))
		return EXIT_USAGE;
	if ((o->set & CLI_F_PLATFORM) && strcmp(o->platform, "kubernetes"))
		return cli_fail(EXIT_USAGE, "write `conform manifests --platform kubernetes`",
				"manifests: the %s platform applies no manifests", o->platform);
	config_defaults(&c);
	if ((o->set & CLI_F_CONFIG) && config_load(o->config, &c, err, sizeof(err)))
		return cli_fail(EXIT_USAGE, "docs/config.md describes every field", "%s", err);
	kube_run_defaults(&r);
	/* the mesh: --mesh, else a config file's when it names one of Kubernetes',
	 * else the platform's default (linkerd) */
	if (o->set & CLI_F_MESH)
		str_copy(r.mesh, sizeof(r.mesh), o->mesh);
	else if ((o->set & CLI_F_CONFIG) && (!strcmp(c.mesh, "none") || !strcmp(c.mesh, "linkerd")))
		str_copy(r.mesh, sizeof(r.mesh), c.mesh);
	else
		str_copy(r.mesh, sizeof(r.mesh), mesh_default_for("kubernetes"));
	if (o->set & CLI_F_NAMESPACE)
		str_copy(r.namespace, sizeof(r.namespace), o->namespace);
	if (o->set & CLI_F_IMAGE)
		str_copy(r.image, sizeof(r.image), o->image);
	str_copy(c.mesh, sizeof(c.mesh), r.mesh);
	if (kube_run_check(&r, err, sizeof(err)))
		return cli_fail(EXIT_USAGE, "use --mesh none or --mesh linkerd", "manifests: %s",
				err);
	objs = kube_obj_all(&r, &c, err, sizeof(err));
	if (!objs)
		return cli_fail(EXIT_ENV, NULL, "manifests: %s", err);
	dynbuf_addf(&b, "# conform %s: the objects of a run on Kubernetes, mesh %s, namespace %s\n"
		    "# (routes and policy are the mesh's; the Secret conform-run holds the run's\n"
		    "# token and is made by `conform start`)\n", CONFORM_VERSION, r.mesh,
		    r.namespace);
	cJSON_ArrayForEach(d, objs) {
		if (dynbuf_adds(&b, "---\n") || kube_yaml_emit(d, &b)) {
			rc = cli_fail(EXIT_ENV, NULL, "manifests: the objects do not fit in %u bytes",
				      8u << 20);
			goto out;
		}
	}
	if (fwrite(b.buf, 1, b.len, stdout) != b.len || fflush(stdout))
		rc = cli_fail(EXIT_ENV, NULL, "manifests: cannot write to stdout");
out:
	cJSON_Delete(objs);
	dynbuf_release(&b);
	return rc;
}
