import { ApiError, adviceFor } from '../api/problem';

/**
 * An error as people should see it: the API's stable `code`, a sentence saying what happened and
 * what to do, the API's own detail when it adds something, and the request id to quote.
 */
export function ProblemView({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  const problem =
    error instanceof ApiError
      ? error.problem
      : { status: 0, code: 'CLIENT_ERROR', detail: error instanceof Error ? error.message : String(error) };
  const advice = adviceFor(problem);
  const fields = Array.isArray(problem.errors) ? (problem.errors as unknown[]).map(String) : [];
  return (
    <div class="problem" role="alert" data-code={problem.code}>
      <p>
        <strong class="problem-code">{problem.code}</strong>
        {problem.status ? <span class="problem-status"> (HTTP {problem.status})</span> : null}
        <span class="problem-advice"> {advice}</span>
      </p>
      {problem.detail && problem.detail !== advice ? <p class="problem-detail">{problem.detail}</p> : null}
      {fields.length > 0 && !problem.detail.includes(fields[0]) ? (
        <ul>
          {fields.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      ) : null}
      {problem.requestId ? <p class="muted small">Request id: {problem.requestId}</p> : null}
      {onDismiss ? (
        <button type="button" class="link" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}
