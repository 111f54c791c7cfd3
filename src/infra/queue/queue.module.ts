import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BullMqJobQueue } from './bullmq-job-queue';
import { InProcessJobQueue } from './in-process-job-queue';
import { JOB_QUEUE, type JobQueue } from './job-queue';
import { consumesJobs, PROCESS_ROLE, type ProcessRole } from './process-role';

export interface QueueModuleOptions {
  role?: ProcessRole;
}

/**
 * Provides JOB_QUEUE (in-process or BullMQ, from `queue.driver`) and PROCESS_ROLE. The queue is
 * drained at shutdown by its consumer (SeparationProcessor), which then ends the waiting streams.
 */
@Global()
@Module({})
export class QueueModule {
  static forRoot(options: QueueModuleOptions = {}): DynamicModule {
    const role = options.role ?? 'all';
    return {
      module: QueueModule,
      providers: [
        { provide: PROCESS_ROLE, useValue: role },
        {
          provide: JOB_QUEUE,
          inject: [AppConfig],
          useFactory: (config: AppConfig): JobQueue => {
            if (config.queueDriver === 'redis') {
              return new BullMqJobQueue({
                redisUrl: config.redis.url ?? 'redis://127.0.0.1:6379',
                prefix: config.queue.prefix,
                concurrency: config.queue.concurrency,
                capacity: config.queue.capacity,
                consume: consumesJobs(role),
              });
            }
            if (role === 'api') {
              throw new Error(
                'An API-only process needs the Redis queue (queue.driver=redis): the in-process queue cannot reach workers',
              );
            }
            return new InProcessJobQueue({
              concurrency: config.queue.concurrency,
              capacity: config.queue.capacity,
              consume: consumesJobs(role),
            });
          },
        },
      ],
      exports: [JOB_QUEUE, PROCESS_ROLE],
    };
  }
}
