// Validates Kubernetes objects against the JSON schemas that the kubernetes-models packages ship
// (generated from the Kubernetes OpenAPI spec and the KEDA / Prometheus Operator CRDs).
// Reads a JSON array of objects on stdin, prints a JSON array of { kind, name, error } (null when
// valid). ESM-only packages, hence a separate Node process (jest runs specs as CommonJS).
const MODULES = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const doc of JSON.parse(input)) {
  const name = doc?.metadata?.name ?? null;
  const specifier = MODULES[doc?.apiVersion];
  let error = null;
  if (!specifier) {
    error = `no schema for apiVersion ${doc?.apiVersion}`;
  } else {
    const Model = (await import(specifier))[doc.kind];
    if (!Model) error = `no schema for ${doc.apiVersion} ${doc.kind}`;
    else {
      try {
        new Model(doc).validate();
      } catch (err) {
        error = err.message;
      }
    }
  }
  results.push({ kind: doc?.kind, name, error });
}
process.stdout.write(JSON.stringify(results));
