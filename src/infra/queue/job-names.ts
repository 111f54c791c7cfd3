/**
 * Every queue and job name, with its payload type. Producers and processors import these; nothing
 * else names a queue or a job with a string literal.
 */
export enum QueueName {
  Separation = 'separation',
}

export enum JobName {
  /** Run one separation job (a row in separation_jobs). */
  Separate = 'separate',
}

export interface SeparateJobPayload {
  /** The separation job id (also the queue job id: enqueueing twice is a no-op). */
  jobId: string;
}

export interface JobPayloads {
  [JobName.Separate]: SeparateJobPayload;
}
