export * from './job-names';
export * from './job-queue';
export * from './process-role';
export * from './in-process-job-queue';
export * from './queue.module';
export * from './bullmq-job-queue';
