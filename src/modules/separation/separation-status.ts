export enum SeparationStatus {
  Queued = 'queued',
  Running = 'running',
  Succeeded = 'succeeded',
  Failed = 'failed',
  Canceled = 'canceled',
}

export const TERMINAL_STATUSES: readonly SeparationStatus[] = [
  SeparationStatus.Succeeded,
  SeparationStatus.Failed,
  SeparationStatus.Canceled,
];

export const UNFINISHED_STATUSES: readonly SeparationStatus[] = [
  SeparationStatus.Queued,
  SeparationStatus.Running,
];

export function isTerminal(status: SeparationStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
