/**
 * What this process does. `all`: HTTP API and job execution (the default, one process). `api`: HTTP
 * only, jobs run in separate worker processes (needs the Redis queue). `worker`: runs jobs, no HTTP.
 */
export type ProcessRole = 'all' | 'api' | 'worker';

export const PROCESS_ROLE = Symbol('PROCESS_ROLE');

export function consumesJobs(role: ProcessRole): boolean {
  return role !== 'api';
}
