import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { PROCESS_ROLE, type ProcessRole } from '../../infra/queue/process-role';
import { ApiKeysService } from './api-keys.service';
import { JwtVerifierService } from './jwt/jwt-verifier.service';

/**
 * First-run behaviour of the embedded default (`npm start` on a laptop):
 * - `security.auth_enabled=false` is an explicit opt-out: every caller is ANONYMOUS_ADMIN, and a
 *   warning says so at every start.
 * - Otherwise, if no admin credential exists at all (no SPLEETER_API_KEY, no JWT configuration, no
 *   active admin key in the database), one admin key named `bootstrap` is created and its token is
 *   written ONCE to stdout, outside the JSON log stream. Only its hash is stored; later starts see
 *   the key and print nothing. So the server never starts in a state nobody can administer, and
 *   never with an open door. Worker processes (no HTTP) never create one: the API process does.
 */
@Injectable()
export class SecurityBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Security');

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysService,
    private readonly jwt: JwtVerifierService,
    @Optional() @Inject(PROCESS_ROLE) private readonly role: ProcessRole = 'all',
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.security.auth_enabled) {
      this.logger.warn(
        'AUTHENTICATION IS DISABLED (security.auth_enabled=false): every caller is an anonymous admin. ' +
          'Never expose this instance beyond localhost.',
      );
      return;
    }
    if (this.role === 'worker' || this.config.api_key || this.jwt.enabled) return;
    if ((await this.keys.countActiveAdmins()) > 0) return;
    const { key, token } = await this.keys.create({ name: 'bootstrap', role: 'admin' });
    this.writeOnce(
      [
        '',
        '================================================================================',
        ' spleeter-server: no admin credential was configured, so a bootstrap admin API',
        ' key was created. It is shown only this once and stored only as a hash:',
        '',
        `   X-API-KEY: ${token}`,
        '',
        ' Use it to create your own keys (POST /v1/admin/api-keys), then revoke it',
        ` (DELETE /v1/admin/api-keys/${key.id}). Or set SPLEETER_API_KEY / JWT instead.`,
        '================================================================================',
        '',
      ].join('\n'),
    );
    this.logger.warn(`Created bootstrap admin API key ${key.id}; its secret was printed to stdout once`);
  }

  /** Raw stdout, deliberately not the logger: log pipelines ship and keep what they receive. */
  protected writeOnce(text: string): void {
    process.stdout.write(`${text}\n`);
  }
}
