/**
 * Active alerts from the configured thresholds (monitoring.alert_thresholds, percent). The same
 * thresholds drive the Prometheus rules in k8s/base/prometheus-rules.yaml, so /v1/stats and
 * Alertmanager agree.
 */
export interface AlertThresholds {
  memory_usage: number;
  gpu_usage: number;
  error_rate: number;
}

export interface Alert {
  name: 'memory_usage' | 'gpu_usage' | 'error_rate';
  severity: 'warning' | 'critical';
  /** Current value, percent. */
  value: number;
  threshold: number;
  message: string;
}

export interface AlertInputs {
  memoryUsagePercent: number;
  /** Highest GPU memory use across GPUs, percent; null without a readable GPU. */
  gpuUsagePercent: number | null;
  /** Failed share of the recent window, percent. */
  errorRatePercent: number;
}

/** Above threshold: warning. Above threshold + half the remaining headroom: critical. */
function severity(value: number, threshold: number): Alert['severity'] {
  return value >= threshold + (100 - threshold) / 2 ? 'critical' : 'warning';
}

export function computeAlerts(inputs: AlertInputs, thresholds: AlertThresholds): Alert[] {
  const alerts: Alert[] = [];
  const round = (v: number) => Math.round(v * 10) / 10;
  if (inputs.memoryUsagePercent >= thresholds.memory_usage) {
    alerts.push({
      name: 'memory_usage',
      severity: severity(inputs.memoryUsagePercent, thresholds.memory_usage),
      value: round(inputs.memoryUsagePercent),
      threshold: thresholds.memory_usage,
      message: `Memory usage ${round(inputs.memoryUsagePercent)}% is at or above ${thresholds.memory_usage}%`,
    });
  }
  if (inputs.gpuUsagePercent !== null && inputs.gpuUsagePercent >= thresholds.gpu_usage) {
    alerts.push({
      name: 'gpu_usage',
      severity: severity(inputs.gpuUsagePercent, thresholds.gpu_usage),
      value: round(inputs.gpuUsagePercent),
      threshold: thresholds.gpu_usage,
      message: `GPU memory usage ${round(inputs.gpuUsagePercent)}% is at or above ${thresholds.gpu_usage}%`,
    });
  }
  if (inputs.errorRatePercent >= thresholds.error_rate && inputs.errorRatePercent > 0) {
    alerts.push({
      name: 'error_rate',
      severity: severity(inputs.errorRatePercent, thresholds.error_rate),
      value: round(inputs.errorRatePercent),
      threshold: thresholds.error_rate,
      message: `Separation error rate ${round(inputs.errorRatePercent)}% is at or above ${thresholds.error_rate}%`,
    });
  }
  return alerts;
}
