import type { JobStatus } from '../api/types';

const LABELS: Record<JobStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
};

export function StatusBadge({ status, deleted }: { status: JobStatus; deleted?: boolean }) {
  if (deleted && status === 'succeeded') return <span class="badge badge-deleted">Files deleted</span>;
  return <span class={`badge badge-${status}`}>{LABELS[status] ?? status}</span>;
}
