import * as fs from 'fs';
import * as path from 'path';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { PUBLIC_OPENAPI_EXTENSION } from './common/decorators/public.decorator';

/** Tags in the order Swagger UI shows them: what clients use first, administration last. */
const TAGS: Array<[name: string, description: string]> = [
  ['separations', 'Upload audio, follow the job (JSON or server-sent events), download stems and archives.'],
  ['analyses', 'Analyse audio without separating it: technical data, tags, loudness, silence, tempo, key.'],
  ['models', 'The models this server can run, with their stems and options.'],
  ['auth', 'Exchange credentials for a short-lived JWT.'],
  ['monitoring', 'Processing and system statistics, Prometheus metrics.'],
  ['health', 'Liveness and readiness probes (no credentials).'],
  ['admin', 'Administration: cache, jobs of every user (admin role).'],
  ['admin: models', 'Install, activate, roll back and remove models (admin role).'],
  ['admin: api keys', 'Create and revoke API keys; a key is shown once (admin role).'],
  ['admin: audit', 'The hash-chained audit log and its verification (admin role).'],
];

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** The package version (package.json beside src/ or dist/); '0.0.0' if it cannot be read. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('spleeter-server')
    .setDescription(
      'Self-hosted music source separation (Spleeter 2/4/5 stems, UVR MDX-Net, built-in DSP models). ' +
        'Errors are RFC 7807 application/problem+json bodies with a stable `code`. ' +
        'Every operation except the probes, the metrics and these docs needs an API key (X-API-KEY) or a JWT (Bearer).',
    )
    .setVersion(packageVersion())
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-KEY' }, 'apiKey')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addSecurityRequirements('apiKey')
    .addSecurityRequirements('bearer');
  for (const [name, description] of TAGS) builder.addTag(name, description);
  return finishDocument(SwaggerModule.createDocument(app, builder.build()));
}

/**
 * What the decorators cannot say: public operations carry `security: []` (no lock icon), every
 * authenticated operation documents 429 (the per-principal rate limit applies to all of them;
 * job creation also answers it for quotas), and only the tags in use are listed, in TAGS order.
 */
export function finishDocument(doc: OpenAPIObject): OpenAPIObject {
  const used = new Set<string>();
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as
        (Record<string, unknown> & { responses: Record<string, unknown> }) | undefined;
      if (!op) continue;
      for (const tag of (op.tags as string[] | undefined) ?? []) used.add(tag);
      if (op[PUBLIC_OPENAPI_EXTENSION]) {
        delete op[PUBLIC_OPENAPI_EXTENSION];
        op.security = [];
        continue;
      }
      op.responses['429'] ??= {
        description:
          'Too many requests (`RATE_LIMITED`) or, when creating jobs, a quota used up (`QUOTA_EXCEEDED`); see Retry-After.',
        headers: {
          'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
        },
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetailsDto' } },
        },
      };
    }
  }
  const known = new Set(TAGS.map(([name]) => name));
  doc.tags = [
    ...(doc.tags ?? []).filter((t) => used.has(t.name)),
    ...[...used].filter((name) => !known.has(name)).map((name) => ({ name })),
  ];
  return doc;
}

/** Swagger UI at /docs, the document at /docs/openapi.json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
    swaggerOptions: { persistAuthorization: true },
  });
}
