import { messageOf } from '../errors.ts';
import type { PolicyApproval } from '../policy/types.ts';
import type { GitHubClient } from './client.ts';

/** Repository permissions whose holders may accept a policy change before it is merged. */
export const APPROVING_PERMISSIONS: readonly string[] = ['admin', 'write'];

/** Pages of issue events read at most (100 events a page). */
const MAX_EVENT_PAGES = 30;

interface IssueEvent {
  event?: string;
  created_at?: string;
  actor?: { login?: string } | null;
  label?: { name?: string } | null;
}

export interface LabelApprovalOptions {
  client: GitHubClient;
  repository: { owner: string; repo: string };
  pullRequest: number;
  /** The `policy-approval-label` input. */
  label: string;
  log: { info: (message: string) => void; warning: (message: string) => void };
}

/**
 * Whether the approval label counts (issue 9 §1): it is on the pull request now (its last
 * `labeled`/`unlabeled` event is `labeled`), and the user who added it has write or admin
 * permission. Anyone who can open a PR may be able to add a label through another app or a
 * team setting, so the event's actor and their permission are checked through the REST API,
 * never taken from the payload. Any failure means no approval: the base policy stays.
 */
export async function labelApproval(options: LabelApprovalOptions): Promise<PolicyApproval | null> {
  const { client, repository, pullRequest, label, log } = options;
  try {
    const events = await listIssueEvents(client, repository, pullRequest);
    const last = events.filter((event) => (event.event === 'labeled' || event.event === 'unlabeled') && event.label?.name === label).at(-1);
    if (!last || last.event !== 'labeled') return null;
    const login = last.actor?.login;
    if (!login) {
      log.warning(`policy-approval-label: the label "${label}" has no recorded actor; it does not approve the policy change`);
      return null;
    }
    const response = await client.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { ...repository, username: login });
    const permission = (response.data as { permission?: string }).permission ?? 'none';
    if (!APPROVING_PERMISSIONS.includes(permission)) {
      log.warning(`policy-approval-label: "${label}" was added by ${login}, who has ${permission} permission; only ${APPROVING_PERMISSIONS.join(' or ')} permission approves a policy change, so the base branch's policy applies`);
      return null;
    }
    log.info(`policy-approval-label: "${label}" added by ${login} (${permission}) at ${last.created_at ?? 'an unknown time'}: the pull request's policy applies`);
    return { how: 'label', label, by: login, permission, at: last.created_at ?? 'unknown' };
  } catch (error) {
    log.warning(`policy-approval-label: could not check the label (${messageOf(error)}); the base branch's policy applies`);
    return null;
  }
}

async function listIssueEvents(client: GitHubClient, repository: { owner: string; repo: string }, issueNumber: number): Promise<IssueEvent[]> {
  const events: IssueEvent[] = [];
  for (let page = 1; page <= MAX_EVENT_PAGES; page++) {
    const response = await client.request('GET /repos/{owner}/{repo}/issues/{issue_number}/events', { ...repository, issue_number: issueNumber, per_page: 100, page });
    const batch = response.data as IssueEvent[];
    events.push(...batch);
    if (batch.length < 100) break;
  }
  return events;
}
