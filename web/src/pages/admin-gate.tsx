import type { ComponentChildren } from 'preact';
import { ApiError } from '../api/problem';
import { ProblemView } from '../components/problem-view';
import type { Session } from '../session';

/**
 * Admin pages for a user key: the refusal is shown the way the API words it (403 FORBIDDEN) and
 * nothing else is asked of the server. Pages that read admin endpoints get the API's own 403 too.
 */
export function AdminGate({
  s,
  title,
  children,
}: {
  s: Session;
  title: string;
  children: ComponentChildren;
}) {
  if (s.me.role === 'admin') return <>{children}</>;
  return (
    <section>
      <h1 tabIndex={-1}>{title}</h1>
      <ProblemView
        error={
          new ApiError({
            status: 403,
            code: 'FORBIDDEN',
            detail: `Signed in as ${s.me.id} with the role “${s.me.role}”; this page is for admins.`,
          })
        }
      />
    </section>
  );
}
