import { Module } from '@nestjs/common';
import { RateLimitStorage } from './rate-limit.storage';

/** Own module so ThrottlerModule.forRootAsync can inject the storage without a circular import. */
@Module({ providers: [RateLimitStorage], exports: [RateLimitStorage] })
export class RateLimitStorageModule {}
