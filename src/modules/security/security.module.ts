/**
 * Security module: who the caller is (API keys in `X-API-KEY`, the legacy SPLEETER_API_KEY admin
 * key, Bearer JWTs), what they may do (roles), how much (rate limits, quotas), and the admin API for
 * keys. It registers the global guards, in this order: AuthGuard → PrincipalThrottlerGuard →
 * RolesGuard. Everything is authenticated unless marked @Public().
 */
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthGuard } from './guards/auth.guard';
import { PrincipalThrottlerGuard } from './guards/principal-throttler.guard';
import { RolesGuard } from './guards/roles.guard';
import { AppConfig } from '../../infra/config/app-config';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { AuthController } from './auth.controller';
import { AuthenticationService } from './authentication.service';
import { ApiKeyEntity } from './entities/api-key.entity';
import { QuotaActiveJobEntity, QuotaDailyUsageEntity } from './entities/quota-usage.entity';
import { JwksClient } from './jwt/jwks.client';
import { JwtVerifierService } from './jwt/jwt-verifier.service';
import { QuotaService } from './quota.service';
import { ApiKeysRepository } from './repositories/api-keys.repository';
import { QuotaRepository } from './repositories/quota.repository';
import { SecurityBootstrapService } from './security-bootstrap.service';
import { RateLimitStorageModule } from './throttler/rate-limit-storage.module';
import { RateLimitStorage } from './throttler/rate-limit.storage';

@Module({
  imports: [
    TypeOrmModule.forFeature([ApiKeyEntity, QuotaActiveJobEntity, QuotaDailyUsageEntity]),
    RateLimitStorageModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [AppConfig, RateLimitStorage],
      useFactory: (config: AppConfig, storage: RateLimitStorage) => ({
        throttlers: [
          {
            name: 'default',
            ttl: config.security.rate_limit.ttl_s * 1000,
            limit: config.security.rate_limit.limit,
          },
        ],
        storage,
      }),
    }),
  ],
  controllers: [ApiKeysController, AuthController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    QuotaRepository,
    QuotaService,
    JwksClient,
    JwtVerifierService,
    AuthenticationService,
    SecurityBootstrapService,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: PrincipalThrottlerGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [QuotaService, AuthenticationService, ApiKeysService],
})
export class SecurityModule {}
