/**
 * Every metric this service exports (prefix `spleeter_`). Process and Node.js defaults from
 * prom-client keep their standard names (process_*, nodejs_*) so stock dashboards work.
 * The audit module registers spleeter_audit_* itself (buffer size, written, dropped).
 */
export const MetricNames = {
  BuildInfo: 'spleeter_build_info',
  HttpRequestDuration: 'spleeter_http_request_duration_seconds',
  SeparationsTotal: 'spleeter_separations_total',
  SeparationDuration: 'spleeter_separation_duration_seconds',
  SeparationRealtimeFactor: 'spleeter_separation_realtime_factor',
  AudioSecondsProcessed: 'spleeter_audio_processed_seconds_total',
  ModelCalls: 'spleeter_model_calls_total',
  QueueDepth: 'spleeter_queue_depth',
  QueueRunning: 'spleeter_queue_running_jobs',
  QueueCapacity: 'spleeter_queue_capacity',
  CacheHits: 'spleeter_cache_hits_total',
  CacheMisses: 'spleeter_cache_misses_total',
  CacheEvictions: 'spleeter_cache_evictions_total',
  CacheBytes: 'spleeter_cache_bytes',
  CacheEntries: 'spleeter_cache_entries',
  CacheMaxBytes: 'spleeter_cache_max_bytes',
  CacheTierUp: 'spleeter_cache_tier_up',
  ModelLoadDuration: 'spleeter_model_load_duration_seconds',
  ModelInstalls: 'spleeter_model_installs_total',
  ErrorsTotal: 'spleeter_errors_total',
  AuthFailures: 'spleeter_auth_failures_total',
  MemoryUsageRatio: 'spleeter_memory_usage_ratio',
  MemoryLimitBytes: 'spleeter_memory_limit_bytes',
  ExecutionProviderInfo: 'spleeter_execution_provider_info',
  GpuMemoryUsed: 'spleeter_gpu_memory_used_bytes',
  GpuMemoryTotal: 'spleeter_gpu_memory_total_bytes',
  GpuUtilization: 'spleeter_gpu_utilization_ratio',
} as const;
