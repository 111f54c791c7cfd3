/**
 * The OpenAPI document: structurally valid OpenAPI 3, every route the Nest router serves is in it,
 * every response has a schema, every $ref resolves, errors are documented as RFC 7807 problems,
 * and both security schemes (API key and bearer JWT) are declared. A compact structural check
 * (no validator dependency): what a client generator needs from the document.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { startTestApp, type TestApp } from '../factories/app';

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

describe('OpenAPI document (e2e)', () => {
  let t: TestApp;
  let doc: Json;

  beforeAll(async () => {
    t = await startTestApp({ config: { security: { auth_enabled: false } } });
    const res = await request(t.server).get('/docs/openapi.json').expect(200);
    expect(res.headers['content-type']).toMatch(/json/);
    doc = res.body;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is OpenAPI 3 with info, paths and components', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(doc.paths as Json).length).toBeGreaterThan(0);
    for (const [p, item] of Object.entries(doc.paths as Record<string, Json>)) {
      expect(p.startsWith('/')).toBe(true);
      for (const key of Object.keys(item))
        expect([...METHODS, 'parameters', 'summary', 'description', 'servers']).toContain(key);
    }
  });

  it('declares the API key and bearer JWT security schemes', () => {
    const schemes = (doc.components as Json).securitySchemes as Record<string, Json>;
    expect(schemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-KEY' });
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('covers every route the router serves', () => {
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const m of METHODS) if (item[m]) documented.add(`${m.toUpperCase()} ${p}`);
    }
    // The docs and the web page's files (src/modules/web) are not API operations.
    const served = routes(t.app)
      .filter((r) => !r.path.startsWith('/docs') && !/^\/$|^\/favicon\.svg$|^\/assets\//.test(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    expect(served.length).toBeGreaterThan(0);
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
    for (const route of [
      'POST /v1/separations',
      'POST /v1/separations/batch',
      'GET /v1/separations',
      'GET /v1/separations/{id}',
      'GET /v1/separations/{id}/events',
      'GET /v1/separations/{id}/stems/{stem}',
      'GET /v1/separations/{id}/archive',
      'DELETE /v1/separations/{id}',
      'GET /v1/batches/{id}',
    ]) {
      expect(documented).toContain(route);
    }
  });

  it('gives every operation a unique operationId, its path parameters, and a schema for every response body', () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const [p, op, where] of operations(doc)) {
      if (!op.operationId || ids.has(op.operationId as string))
        problems.push(`${where}: missing/duplicate operationId`);
      ids.add(op.operationId as string);
      const params = ((op.parameters as Json[] | undefined) ?? [])
        .filter((x) => x.in === 'path')
        .map((x) => x.name);
      for (const [, name] of p.matchAll(/\{([^}]+)\}/g))
        if (!params.includes(name)) problems.push(`${where}: path parameter ${name} undeclared`);
      const responses = (op.responses ?? {}) as Record<string, Json>;
      if (!Object.keys(responses).some((s) => /^2\d\d$/.test(s))) problems.push(`${where}: no 2xx response`);
      for (const [status, r] of Object.entries(responses)) {
        if (status === '204' || status === '304') continue;
        const content = r.content as Record<string, Json> | undefined;
        if (!content || Object.keys(content).length === 0) {
          problems.push(`${where} ${status}: no content`);
          continue;
        }
        for (const [type, media] of Object.entries(content))
          if (!media.schema) problems.push(`${where} ${status} ${type}: no schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents separation errors as application/problem+json ProblemDetails with a code', () => {
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    expect(schemas.ProblemDetailsDto).toBeDefined();
    expect(schemas.ProblemDetailsDto.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'code', 'detail']),
    );
    for (const [p, op, where] of operations(doc)) {
      if (!p.startsWith('/v1/separations') && !p.startsWith('/v1/batches')) continue;
      const errors = Object.entries((op.responses ?? {}) as Record<string, Json>).filter(([s]) =>
        /^[45]\d\d$/.test(s),
      );
      expect({ where, errors: errors.length > 0 }).toEqual({ where, errors: true });
      for (const [status, r] of errors) {
        const schema = ((r.content as Record<string, Json>)['application/problem+json'] ?? {}).schema as
          Json | undefined;
        expect({ where, status, ref: schema?.$ref }).toEqual({
          where,
          status,
          ref: '#/components/schemas/ProblemDetailsDto',
        });
      }
    }
  });

  it('documents the upload as multipart with a binary file and the job schema in the answers', () => {
    const post = ((doc.paths as Record<string, Json>)['/v1/separations'].post ?? {}) as Json;
    const body = ((post.requestBody as Json).content as Record<string, Json>)['multipart/form-data'];
    const schema = resolve(doc, body.schema as Json);
    expect((schema.properties as Record<string, Json>).file).toMatchObject({
      type: 'string',
      format: 'binary',
    });
    expect(schema.required).toContain('file');
    for (const option of [
      'model',
      'stems',
      'codec',
      'bitrate',
      'bitDepth',
      'sampleRate',
      'offset',
      'duration',
      'mwf',
      'bandwidth',
      'overlap',
      'denoise',
      'callbackUrl',
    ]) {
      expect(Object.keys(schema.properties as Json)).toContain(option);
    }
    // MDX-Net overlap: the word 'default' or a fraction up to 0.99.
    expect((schema.properties as Record<string, Json>).overlap).toMatchObject({
      oneOf: [
        { type: 'string', enum: ['default'] },
        { type: 'number', minimum: 0, maximum: 0.99 },
      ],
    });
    expect((schema.properties as Record<string, Json>).denoise).toMatchObject({ type: 'boolean' });
    const accepted = (post.responses as Record<string, Json>)['202'].content as Record<string, Json>;
    expect(accepted['application/json'].schema).toEqual({
      $ref: '#/components/schemas/SeparationResponseDto',
    });
    const job = (doc.components as Json).schemas as Record<string, Json>;
    for (const field of [
      'id',
      'status',
      'progress',
      'queuePosition',
      'timings',
      'model',
      'executionProvider',
      'input',
      'stems',
      'analysis',
      'error',
      'links',
    ]) {
      expect(Object.keys(job.SeparationResponseDto.properties as Json)).toContain(field);
    }
    expect(Object.keys(job.SeparationOptionsResponseDto.properties as Json)).toEqual(
      expect.arrayContaining(['overlap', 'denoise', 'analysis']),
    );
    // Input and stems share one analysis schema: loudness, silent ranges, the empty flag.
    for (const owner of ['SeparationResponseDto', 'SeparationStemDto']) {
      expect((job[owner].properties as Record<string, Json>).analysis).toMatchObject({
        nullable: true,
        allOf: [{ $ref: '#/components/schemas/SignalAnalysisDto' }],
      });
    }
    expect(Object.keys(job.SignalAnalysisDto.properties as Json)).toEqual(
      expect.arrayContaining(['durationSec', 'loudness', 'silence', 'empty']),
    );
    expect((schema.properties as Record<string, Json>).analysis).toMatchObject({
      type: 'boolean',
      default: true,
    });
  });

  it('has no dangling $ref', () => {
    const dangling: string[] = [];
    walk(doc, (node) => {
      const ref = node.$ref;
      if (typeof ref !== 'string') return;
      if (!ref.startsWith('#/')) dangling.push(ref);
      else if (
        ref
          .slice(2)
          .split('/')
          .reduce<unknown>((n, k) => (n as Json | undefined)?.[k], doc) === undefined
      )
        dangling.push(ref);
    });
    expect(dangling).toEqual([]);
  });

  it('serves Swagger UI at /docs, keeping the credentials entered across reloads', async () => {
    const res = await request(t.server).get('/docs').redirects(1).expect(200);
    expect(res.text).toMatch(/swagger/i);
    const init = await request(t.server).get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toMatch(/"persistAuthorization":\s*true/);
  });

  it('takes its version from package.json', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('../../package.json') as { version: string };
    expect((doc.info as Json).version).toBe(pkg.version);
  });

  it('lists tags with descriptions, separations first and administration last', () => {
    const tags = doc.tags as Array<{ name: string; description?: string }>;
    expect(tags[0].name).toBe('separations');
    for (const tag of tags) expect(tag.description).toEqual(expect.any(String));
    const admin = tags.findIndex((tg) => tg.name.startsWith('admin'));
    expect(admin).toBeGreaterThan(0);
    expect(tags.slice(admin).every((tg) => tg.name.startsWith('admin'))).toBe(true);
    // Every tag an operation uses is listed.
    const used = new Set([...operations(doc)].flatMap(([, op]) => (op.tags as string[]) ?? []));
    expect([...used].filter((u) => !tags.some((tg) => tg.name === u))).toEqual([]);
  });

  it('marks public routes with security: [] (no lock) and documents 429 on every authenticated one', () => {
    const pub: string[] = [];
    for (const [p, op, where] of operations(doc)) {
      expect(Object.keys(op).filter((k) => k.startsWith('x-spleeter'))).toEqual([]);
      if (p.startsWith('/health') || p === '/metrics') {
        expect(op.security).toEqual([]);
        pub.push(where);
      } else {
        expect(op.security).toBeUndefined();
        const tooMany = (op.responses as Record<string, Json>)['429'];
        expect(tooMany).toBeDefined();
        expect((tooMany.headers as Json)['Retry-After']).toBeDefined();
      }
    }
    expect(pub).toEqual(expect.arrayContaining(['GET /health/live', 'GET /health/ready', 'GET /metrics']));
    const create = (doc.paths as Record<string, Json>)['/v1/separations'].post as Json;
    expect(((create.responses as Record<string, Json>)['429'].description as string).length).toBeGreaterThan(
      0,
    );
  });

  it('gives a consistent example of a finished job', () => {
    const job = (doc.components as Json).schemas as Record<string, Json>;
    const props = job.SeparationResponseDto.properties as Record<string, Json>;
    expect(props.status.example).toBe('succeeded');
    expect(props.progress.example).toBe(100);
    expect(props.stage.example).toBeNull();
  });

  it('documents executionDevice next to executionProvider in the job and in /v1/stats', () => {
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    for (const dto of ['SeparationResponseDto', 'SystemHealthDto']) {
      const props = schemas[dto].properties as Record<string, Json>;
      expect(props.executionProvider).toBeDefined();
      expect(props.executionDevice).toMatchObject({ type: 'string', nullable: true });
      expect(schemas[dto].required).toEqual(expect.arrayContaining(['executionDevice']));
    }
  });

  it('documents DTO properties from their TypeScript and JSDoc (Swagger plugin metadata), in declaration order', () => {
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    // No @ApiProperty on these: type, nullable, description and example come from the plugin.
    const timings = schemas.SeparationTimingsDto.properties as Record<string, Json>;
    expect(Object.keys(timings)).toEqual([
      'queuedMs',
      'decodeMs',
      'inferenceMs',
      'dspMs',
      'encodeMs',
      'totalMs',
    ]);
    expect(timings.queuedMs).toEqual({
      type: 'number',
      nullable: true,
      description: 'Time spent waiting in the queue.',
    });
    const input = schemas.SeparationInputDto.properties as Record<string, Json>;
    expect(input.codec).toEqual({ type: 'string', nullable: true, example: 'mp3' });
    expect(input.sizeBytes).toEqual({ type: 'number', example: 262867 });
    // A multi-line JSDoc reads as one paragraph.
    expect(timings.totalMs.description).toMatch(
      /^Processing time, start to finish .* because stages overlap\.$/,
    );
    // class-validator limits reach query parameters, which keep their declaration order.
    const audit = (doc.paths as Record<string, Json>)['/v1/admin/audit'].get as { parameters: Json[] };
    expect(audit.parameters.map((p) => p.name).slice(0, 3)).toEqual(['principal', 'action', 'resourceType']);
    expect(audit.parameters[0].schema).toMatchObject({ type: 'string', minLength: 1, maxLength: 255 });
  });
});

function* operations(doc: Json): Generator<[string, Json, string]> {
  for (const [p, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const m of METHODS) if (item[m]) yield [p, item[m] as Json, `${m.toUpperCase()} ${p}`];
  }
}

function resolve(doc: Json, schema: Json): Json {
  if (typeof schema.$ref !== 'string') return schema;
  return schema.$ref
    .slice(2)
    .split('/')
    .reduce<Json>((n, k) => n[k] as Json, doc);
}

function walk(node: unknown, visit: (n: Json) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node && typeof node === 'object') {
    visit(node as Json);
    Object.values(node).forEach((n) => walk(n, visit));
  }
}

/** Method + path of every route on the Express router (Nest controllers and Swagger). */
function routes(app: INestApplication): Array<{ method: string; path: string }> {
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: unknown[] };
    _router?: { stack: unknown[] };
  };
  const out: Array<{ method: string; path: string }> = [];
  for (const layer of ((express.router ?? express._router)?.stack ?? []) as Array<{
    route?: { path: string | string[]; methods: Record<string, boolean> };
  }>) {
    if (!layer.route) continue;
    for (const p of Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]) {
      if (/^\/?\{?\*/.test(p)) continue;
      for (const [m, on] of Object.entries(layer.route.methods))
        if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: p });
    }
  }
  return out;
}
