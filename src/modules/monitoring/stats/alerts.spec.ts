import * as fs from 'fs';
import * as path from 'path';
import { parse, parseAllDocuments } from 'yaml';
import { configSchema } from '../../../infra/config/config.schema';
import { computeAlerts } from './alerts';

describe('computeAlerts', () => {
  const thresholds = { memory_usage: 85, gpu_usage: 90, error_rate: 5 };

  it('raises nothing under the thresholds', () => {
    expect(
      computeAlerts({ memoryUsagePercent: 84.9, gpuUsagePercent: 89.9, errorRatePercent: 4.9 }, thresholds),
    ).toEqual([]);
  });

  it('raises each alert at its threshold, critical past half the remaining headroom', () => {
    const alerts = computeAlerts(
      { memoryUsagePercent: 85, gpuUsagePercent: 96, errorRatePercent: 60 },
      thresholds,
    );
    expect(alerts.map((a) => [a.name, a.severity, a.value, a.threshold])).toEqual([
      ['memory_usage', 'warning', 85, 85],
      ['gpu_usage', 'critical', 96, 90],
      ['error_rate', 'critical', 60, 5],
    ]);
  });

  it('ignores the GPU without a readable GPU and a zero error-rate threshold with no errors', () => {
    expect(
      computeAlerts(
        { memoryUsagePercent: 1, gpuUsagePercent: null, errorRatePercent: 0 },
        { ...thresholds, error_rate: 0 },
      ),
    ).toEqual([]);
  });
});

describe('k8s/base/prometheus-rules.yaml', () => {
  const k8s = path.resolve(__dirname, '..', '..', '..', '..', 'k8s', 'base');

  it('alerts at the same thresholds as monitoring.alert_thresholds defaults and the shipped ConfigMap', () => {
    const defaults = configSchema.parse({}).monitoring.alert_thresholds;
    const rules = parse(fs.readFileSync(path.join(k8s, 'prometheus-rules.yaml'), 'utf8')) as {
      spec: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    };
    const expr = (name: string) =>
      rules.spec.groups.flatMap((g) => g.rules).find((r) => r.alert === name)!.expr;
    const threshold = (name: string) => Number(/>\s*([0-9.]+)\s*$/.exec(expr(name).trim())![1]);
    expect(threshold('SpleeterHighMemoryUsage')).toBeCloseTo(defaults.memory_usage / 100, 10);
    expect(threshold('SpleeterHighGpuMemoryUsage')).toBeCloseTo(defaults.gpu_usage / 100, 10);
    expect(threshold('SpleeterHighErrorRate')).toBeCloseTo(defaults.error_rate / 100, 10);

    const configMap = parse(fs.readFileSync(path.join(k8s, 'configmap.yaml'), 'utf8')) as {
      data: Record<string, string>;
    };
    const shipped = configSchema.parse(
      (parse(configMap.data['production.yaml']) as { spleeter: unknown }).spleeter,
    );
    expect(shipped.monitoring.alert_thresholds).toEqual(defaults);
  });

  it('ships only well-formed YAML documents with kinds', () => {
    for (const file of fs.readdirSync(k8s).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(fs.readFileSync(path.join(k8s, file), 'utf8'))) {
        expect(doc.errors).toEqual([]);
        expect(doc.toJSON()).toHaveProperty('kind');
      }
    }
  });
});
