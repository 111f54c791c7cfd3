/**
 * Loads the configuration: built-in defaults ← config/default.yaml ← the file named by
 * SPLEETER_CONFIG ← SPLEETER_* environment variables. The result is validated once; any problem is a
 * ConfigError whose message names the key (and the env var or file it came from).
 *
 * Env vars: the documented aliases below (SPLEETER_API_KEY, SPLEETER_ENABLE_GPU, …) and, for every
 * key, SPLEETER_<SECTION>__<KEY> with double underscores between levels, e.g.
 * SPLEETER_CACHE__MEMORY_SIZE_MB=512 or SPLEETER_MONITORING__ALERT_THRESHOLDS__ERROR_RATE=2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type SpleeterConfig } from './config.schema';
import { IMAGE_TUNABLES_ENV, RELAUNCH_PARENT_ENV } from './huge-pages';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Documented short env names → config path. */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  SPLEETER_ENV: 'env',
  SPLEETER_API_KEY: 'api_key',
  SPLEETER_ROLE: 'server.role',
  SPLEETER_HOST: 'server.host',
  SPLEETER_PORT: 'server.port',
  SPLEETER_PUBLIC_URL: 'server.public_url',
  SPLEETER_ENABLE_GPU: 'performance.enable_gpu',
  SPLEETER_REQUIRE_GPU: 'performance.require_gpu',
  SPLEETER_GPU_MEMORY_GROWTH: 'performance.gpu_memory_growth',
  SPLEETER_THREADS: 'performance.intra_op_threads',
  SPLEETER_BATCH_SEGMENTS: 'performance.batch_segments',
  SPLEETER_CROSS_JOB_BATCHING: 'performance.cross_job_batching',
  SPLEETER_MAX_BATCH_SEGMENTS: 'performance.max_batch_segments',
  SPLEETER_BATCH_WINDOW_MS: 'performance.batch_window_ms',
  SPLEETER_JOBS_PER_WORKER: 'performance.jobs_per_worker',
  SPLEETER_DSP_THREADS: 'performance.dsp_threads',
  SPLEETER_MODELS_DIR: 'models.dir',
  SPLEETER_AUTO_DOWNLOAD: 'models.auto_download',
  SPLEETER_DEFAULT_MODEL: 'models.default_model',
  SPLEETER_CACHE_DIR: 'cache.dir',
  SPLEETER_STORAGE_DIR: 'storage.dir',
  SPLEETER_REDIS_URL: 'redis.url',
  SPLEETER_DATABASE_URL: 'database.url',
  SPLEETER_SQLITE_PATH: 'database.sqlite_path',
  SPLEETER_ENABLE_MONITORING: 'monitoring.enabled',
  SPLEETER_METRICS_PORT: 'monitoring.metrics_port',
  SPLEETER_FFMPEG_PATH: 'audio.ffmpeg_path',
  SPLEETER_QUEUE_DRIVER: 'queue.driver',
  SPLEETER_JWT_SECRET: 'security.jwt.secret',
  SPLEETER_CALLBACK_SECRET: 'callbacks.secret',
  SPLEETER_LOG_LEVEL: 'logging.level',
  SPLEETER_LOG_PRETTY: 'logging.pretty',
};
/**
 * Env vars read by the loader itself or before it (SPLEETER_HUGE_PAGES, SPLEETER_RELAUNCH_PARENT,
 * SPLEETER_IMAGE_GLIBC_TUNABLES: the CLI's relaunch, huge-pages.ts), not mapped to keys.
 */
const LOADER_ENV = new Set([
  'SPLEETER_CONFIG',
  'SPLEETER_HUGE_PAGES',
  RELAUNCH_PARENT_ENV,
  IMAGE_TUNABLES_ENV,
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Sources = Map<string, string>;

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory holding default.yaml. Defaults to <cwd>/config. */
  configDir?: string;
  /** Extra object merged last (tests, library callers). */
  overrides?: Record<string, unknown>;
  /** Receives non-fatal warnings (unknown SPLEETER_ env vars). */
  warn?: (message: string) => void;
}

export function loadConfig(options: LoadConfigOptions = {}): SpleeterConfig {
  const env = options.env ?? process.env;
  const configDir = options.configDir ?? defaultConfigDir();
  const sources: Sources = new Map();
  let merged: Record<string, Json> = {};

  const defaultFile = path.join(configDir, 'default.yaml');
  if (fs.existsSync(defaultFile)) merged = deepMerge(merged, readYaml(defaultFile, sources));
  const extra = env.SPLEETER_CONFIG;
  if (extra) {
    const file = path.resolve(extra);
    if (!fs.existsSync(file))
      throw new ConfigError(`SPLEETER_CONFIG points to ${file}, which does not exist`);
    merged = deepMerge(merged, readYaml(file, sources));
  }
  merged = deepMerge(merged, readEnv(env, sources, options.warn));
  if (options.overrides) merged = deepMerge(merged, options.overrides as Record<string, Json>);

  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error, sources));
  return resolveDesignAliases(result.data, sources, defaultFile);
}

/**
 * The design's key names (`performance.batch_size`, `performance.worker_threads`,
 * `audio.supported_formats`) are aliases of the keys the code reads. The design name wins over a
 * default (built-in or config/default.yaml); set by the user to a different value than the other
 * name, it is an error naming both. Afterwards both names hold the effective value.
 */
export const DESIGN_ALIASES: ReadonlyArray<readonly [alias: string, key: string]> = [
  ['performance.batch_size', 'performance.batch_segments'],
  ['performance.worker_threads', 'performance.intra_op_threads'],
  ['audio.supported_formats', 'audio.allowed_formats'],
];

function resolveDesignAliases(config: SpleeterConfig, sources: Sources, defaultFile: string): SpleeterConfig {
  const problems: string[] = [];
  const root = config as unknown as Record<string, Record<string, unknown>>;
  for (const [alias, key] of DESIGN_ALIASES) {
    const [section, aliasName] = alias.split('.');
    const keyName = key.split('.')[1];
    const aliasValue = root[section][aliasName];
    const keyValue = root[section][keyName];
    if (aliasValue === null || aliasValue === undefined) {
      root[section][aliasName] = keyValue;
      continue;
    }
    const keySource = sources.get(key);
    const keySetByUser = keySource !== undefined && keySource !== defaultFile;
    if (keySetByUser && JSON.stringify(keyValue) !== JSON.stringify(aliasValue)) {
      problems.push(
        `  - spleeter.${alias} (${JSON.stringify(aliasValue)}${sourceHint(alias, sources).replace(/^ \(/, ', ').replace(/\)$/, '')}) and spleeter.${key} (${JSON.stringify(keyValue)}${sourceHint(key, sources).replace(/^ \(/, ', ').replace(/\)$/, '')}) name the same setting with different values; set one of them`,
      );
      continue;
    }
    root[section][keyName] = aliasValue;
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  return config;
}

/** `./config` of the working directory when it has a default.yaml, else the package's own. */
function defaultConfigDir(): string {
  const local = path.resolve(process.cwd(), 'config');
  if (fs.existsSync(path.join(local, 'default.yaml'))) return local;
  return path.resolve(__dirname, '..', '..', '..', 'config');
}

function readYaml(file: string, sources: Sources): Record<string, Json> {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Cannot parse ${file}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc) || !('spleeter' in doc)) {
    throw new ConfigError(`${file} must have a top-level 'spleeter:' key`);
  }
  const keys = Object.keys(doc);
  if (keys.length !== 1) {
    throw new ConfigError(
      `${file}: unknown top-level key(s) ${keys.filter((k) => k !== 'spleeter').join(', ')}`,
    );
  }
  const body = (doc as { spleeter: unknown }).spleeter ?? {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new ConfigError(`${file}: 'spleeter' must be a mapping`);
  recordSources(body as Record<string, Json>, '', file, sources);
  return body as Record<string, Json>;
}

function recordSources(obj: Record<string, Json>, prefix: string, file: string, sources: Sources): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    sources.set(key, file);
    if (v && typeof v === 'object' && !Array.isArray(v)) recordSources(v, key, file, sources);
  }
}

function readEnv(env: NodeJS.ProcessEnv, sources: Sources, warn?: (m: string) => void): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('SPLEETER_') || raw === undefined || LOADER_ENV.has(name)) continue;
    let keyPath = ENV_ALIASES[name];
    if (!keyPath) {
      const rest = name.slice('SPLEETER_'.length);
      if (!rest.includes('__')) {
        warn?.(`Ignoring unknown environment variable ${name}`);
        continue;
      }
      keyPath = rest
        .split('__')
        .map((p) => p.toLowerCase())
        .join('.');
    }
    setPath(out, keyPath, coerce(raw, keyPath));
    sources.set(keyPath, `env ${name}`);
  }
  return out;
}

/** Env values are strings; coerce by the schema's expected type at that path. */
function coerce(raw: string, keyPath: string): Json {
  const expected = expectedKind(keyPath);
  const trimmed = raw.trim();
  if (expected === 'boolean') {
    const v = trimmed.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off', ''].includes(v)) return false;
    return raw;
  }
  if (expected === 'number') {
    if (trimmed === '') return null;
    const n = Number(trimmed);
    return Number.isFinite(n) ? n : raw;
  }
  if (expected === 'array') {
    return trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
  }
  if (expected === 'nullable-string' && trimmed === '') return null;
  return raw;
}

function expectedKind(
  keyPath: string,
): 'boolean' | 'number' | 'array' | 'string' | 'nullable-string' | 'unknown' {
  let node: z.ZodType = configSchema;
  for (const part of keyPath.split('.')) {
    node = unwrap(node);
    if (!(node instanceof z.ZodObject)) return 'unknown';
    const next = (node.shape as Record<string, z.ZodType>)[part];
    if (!next) return 'unknown';
    node = next;
  }
  let nullable = false;
  let inner: z.ZodType = node;
  for (let i = 0; i < 10; i++) {
    if (inner instanceof z.ZodNullable) nullable = true;
    const u = unwrapOnce(inner);
    if (u === inner) break;
    inner = u;
  }
  if (inner instanceof z.ZodBoolean) return 'boolean';
  if (inner instanceof z.ZodNumber) return 'number';
  if (inner instanceof z.ZodUnion) return 'number';
  if (inner instanceof z.ZodArray) return 'array';
  if (inner instanceof z.ZodString || inner instanceof z.ZodEnum)
    return nullable ? 'nullable-string' : 'string';
  return 'unknown';
}

function unwrapOnce(t: z.ZodType): z.ZodType {
  if (
    t instanceof z.ZodDefault ||
    t instanceof z.ZodPrefault ||
    t instanceof z.ZodNullable ||
    t instanceof z.ZodOptional
  ) {
    return (t as unknown as { unwrap(): z.ZodType }).unwrap();
  }
  return t;
}

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  for (let i = 0; i < 10; i++) {
    const u = unwrapOnce(cur);
    if (u === cur) return cur;
    cur = u;
  }
  return cur;
}

function setPath(obj: Record<string, Json>, keyPath: string, value: Json): void {
  const parts = keyPath.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (!next || typeof next !== 'object' || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, Json>;
  }
  cur[parts[parts.length - 1]] = value;
}

function deepMerge(base: Record<string, Json>, over: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) {
      out[k] = deepMerge(b, v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function formatIssues(error: z.ZodError, sources: Sources): string {
  const lines = error.issues.map((issue) => {
    let keyPath = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (keyPath ? `${keyPath}.${k}` : k));
      return `  - spleeter.${keys.join(', spleeter.')}: unknown key${keys.length > 1 ? 's' : ''}${sourceHint(keys[0], sources)}`;
    }
    if (!keyPath) keyPath = '(root)';
    return `  - spleeter.${keyPath}: ${issue.message}${sourceHint(keyPath, sources)}`;
  });
  return `Invalid configuration:\n${lines.join('\n')}`;
}

function sourceHint(keyPath: string, sources: Sources): string {
  const src = sources.get(keyPath);
  return src ? ` (from ${src})` : '';
}
