import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BullMqJobQueue } from './bullmq-job-queue';
import { InProcessJobQueue } from './in-process-job-queue';
import { JOB_QUEUE, type JobQueue } from './job-queue';
import { consumesJobs, PROCESS_ROLE, type ProcessRole } from './process-role';

/** Drains the queue on shutdown, before the database connection closes (onApplicationShutdown). */
@Injectable()
export class JobQueueLifecycle implements BeforeApplicationShutdown {
  constructor(
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    private readonly config: AppConfig,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.queue.shutdown(this.config.server.shutdown_timeout_s * 1000);
  }
}

export interface QueueModuleOptions {
  role?: ProcessRole;
}

/** Provides JOB_QUEUE (in-process or BullMQ, from `queue.driver`) and PROCESS_ROLE. */
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
        JobQueueLifecycle,
      ],
      exports: [JOB_QUEUE, PROCESS_ROLE],
    };
  }
}
