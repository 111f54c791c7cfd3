import { Global, Module } from '@nestjs/common';
import { RedisConnection } from './redis-connection';

/** Global: any module can inject RedisConnection (check `enabled` before using `client`). */
@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
