/**
 * The Kubernetes manifests as a cluster would receive them: every overlay rendered by kustomize
 * (`kubectl kustomize`, or `kustomize build`), each object checked against the Kubernetes JSON
 * schemas (kubernetes-models, incl. the KEDA and Prometheus Operator CRDs), then the properties
 * that matter here: Pod Security "restricted", the L2 cache on a per-pod emptyDir, GPU scheduling,
 * autoscaling on the BullMQ list the workers really use, a worker PDB, a ConfigMap the app accepts.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { configSchema } from '../../src/infra/config/config.schema';
import { QueueName } from '../../src/infra/queue/job-names';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const OVERLAYS = ['cpu', 'gpu'] as const;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The first kustomize renderer on PATH: kubectl's built-in one, else the standalone binary. */
function renderer(): string[] | null {
  for (const cmd of [
    ['kubectl', 'kustomize'],
    ['kustomize', 'build'],
  ]) {
    if (spawnSync(cmd[0], [cmd[1], '--help'], { stdio: 'ignore' }).status === 0) return cmd;
  }
  return null;
}

const render = renderer();
if (!render) {
  const message = 'no kustomize renderer on PATH (kubectl or kustomize): cannot render k8s/overlays';
  if (process.env.CI) throw new Error(message);
  console.warn(`skipping the Kubernetes manifest specs: ${message}`);
}
const describeIfRenderer = render ? describe : describe.skip;

function build(overlay: string): Obj[] {
  const out = execFileSync(render![0], [render![1], path.join(ROOT, 'k8s', 'overlays', overlay)], {
    encoding: 'utf8',
  });
  return parseAllDocuments(out).map((d) => d.toJSON() as Obj);
}

function find(objs: Obj[], kind: string, name: string): Obj {
  const found = objs.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered`);
  return found;
}

function schemaErrors(objs: Obj[]): Array<{ kind: string; name: string; error: string | null }> {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'test', 'support', 'validate-k8s.mjs')], {
    input: JSON.stringify(objs),
    encoding: 'utf8',
    cwd: ROOT,
  });
  if (res.status !== 0) throw new Error(`schema validation did not run: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

/** The emptyDir/PVC volume mounted at the longest mount path containing `dir`. */
function volumeFor(pod: Obj, container: Obj, dir: string): Obj {
  const mount = (container.volumeMounts as Obj[])
    .filter((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) throw new Error(`${dir} is on the container's read-only root filesystem`);
  return (pod.volumes as Obj[]).find((v) => v.name === mount.name)!;
}

function envOf(container: Obj, name: string): string | undefined {
  return (container.env as Obj[] | undefined)?.find((e) => e.name === name)?.value;
}

describe('Kubernetes schema validation (test/support/validate-k8s.mjs)', () => {
  it('rejects wrong types and missing required fields, in core kinds and in CRDs', () => {
    const results = schemaErrors([
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two' } },
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 's' },
        spec: { triggers: [] },
      },
      { apiVersion: 'example.com/v1', kind: 'Unknown', metadata: { name: 'u' } },
    ]);
    expect(results.map((r) => r.error)).toEqual([
      expect.stringContaining('replicas must be integer'),
      expect.stringContaining('scaleTargetRef'),
      expect.stringContaining('no schema'),
    ]);
  });
});

describeIfRenderer.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  let objs: Obj[];
  beforeAll(() => {
    objs = build(overlay);
  });

  it('renders objects that all pass the Kubernetes (and KEDA / Prometheus Operator) schemas', () => {
    expect(objs.length).toBeGreaterThanOrEqual(12);
    const results = schemaErrors(objs);
    expect(results.filter((r) => r.error !== null)).toEqual([]);
    expect(results.map((r) => r.kind).sort()).toEqual(
      expect.arrayContaining(['Deployment', 'ScaledObject', 'PodDisruptionBudget', 'Namespace', 'ConfigMap']),
    );
  });

  it('meets Pod Security "restricted" in every pod, and the namespace enforces it', () => {
    const ns = find(objs, 'Namespace', 'spleeter');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      expect(d.metadata.namespace).toBe('spleeter');
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.volumes.every((v: Obj) => !v.hostPath)).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext.privileged ?? false).toBe(false);
        expect(c.securityContext.capabilities.add ?? []).toEqual([]);
      }
    }
  });

  it('keeps the L2 result cache (SQLite in WAL mode) and optimized models on a per-pod emptyDir, data on the shared claim', () => {
    const config = find(objs, 'ConfigMap', 'spleeter-config');
    const shipped = configSchema.parse(
      (parseYaml(config.data['production.yaml']) as { spleeter: unknown }).spleeter,
    );
    for (const name of ['spleeter-api', 'spleeter-worker']) {
      const pod = find(objs, 'Deployment', name).spec.template.spec;
      const c = pod.containers[0];
      const cacheDir = envOf(c, 'SPLEETER_CACHE_DIR');
      expect(cacheDir).toBeDefined();
      expect(volumeFor(pod, c, cacheDir!).emptyDir).toBeDefined();
      expect(volumeFor(pod, c, shipped.models.ort_cache_dir!).emptyDir).toBeDefined();
      expect(volumeFor(pod, c, '/tmp').emptyDir).toBeDefined();
      expect(volumeFor(pod, c, '/data').persistentVolumeClaim.claimName).toBe('spleeter-data');
    }
    expect(shipped.queue.driver).toBe('redis');
    expect(shipped.cache.redis_enabled).toBe(true);
  });

  it('scales workers with KEDA on the BullMQ lists the workers use, and protects them with a PDB', () => {
    const config = find(objs, 'ConfigMap', 'spleeter-config');
    const prefix = configSchema.parse(
      (parseYaml(config.data['production.yaml']) as { spleeter: unknown }).spleeter,
    ).queue.prefix;
    const scaled = find(objs, 'ScaledObject', 'spleeter-worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('spleeter-worker');
    const lists = (scaled.spec.triggers as Obj[]).map((t) => t.metadata.listName);
    expect(lists).toEqual([
      `${prefix}:${QueueName.Separation}:wait`,
      `${prefix}:${QueueName.Separation}:active`,
    ]);
    expect(Number(scaled.spec.triggers[0].metadata.listLength)).toBeGreaterThan(0);
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaled.spec.maxReplicaCount).toBeGreaterThan(scaled.spec.minReplicaCount);
    find(objs, 'TriggerAuthentication', scaled.spec.triggers[0].authenticationRef.name);

    const pdb = find(objs, 'PodDisruptionBudget', 'spleeter-worker');
    const worker = find(objs, 'Deployment', 'spleeter-worker');
    expect(worker.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  it(
    overlay === 'gpu'
      ? 'runs workers on GPU nodes, one GPU each, with the CUDA image'
      : 'runs workers on CPUs only',
    () => {
      const pod = find(objs, 'Deployment', 'spleeter-worker').spec.template.spec;
      const c = pod.containers[0];
      if (overlay === 'gpu') {
        expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
        expect(c.resources.requests['nvidia.com/gpu']).toBe(1);
        expect(pod.tolerations).toEqual(
          expect.arrayContaining([expect.objectContaining({ key: 'nvidia.com/gpu', effect: 'NoSchedule' })]),
        );
        expect(Object.keys(pod.nodeSelector)).toContain('nvidia.com/gpu.present');
        expect(c.image).toMatch(/cuda/);
        expect(envOf(c, 'SPLEETER_ENABLE_GPU')).toBe('true');
      } else {
        expect(JSON.stringify(c.resources)).not.toContain('nvidia.com/gpu');
        expect(envOf(c, 'SPLEETER_ENABLE_GPU')).toBe('false');
        expect(c.image).not.toMatch(/cuda/);
      }
      // The API never needs a GPU.
      const api = find(objs, 'Deployment', 'spleeter-api').spec.template.spec;
      expect(JSON.stringify(api.containers[0].resources)).not.toContain('nvidia.com/gpu');
      expect(api.containers[0].image).not.toMatch(/cuda/);
    },
  );
});
