import { readFileSync } from 'node:fs';

/** What the Action needs to know about the run it is part of, from the runner's environment. */
export interface RunContext {
  /** `owner/name`. */
  repository: { owner: string; repo: string };
  /** The pull request, when the event has one. */
  pullRequest: { number: number; baseSha: string; headSha: string; fromFork: boolean } | undefined;
  eventName: string;
  /** `GITHUB_JOB`: part of the sticky comment's marker, so two jobs keep two comments. */
  job: string;
  apiUrl: string;
  /** `GITHUB_SERVER_URL`: https://github.com or a GitHub Enterprise Server. */
  serverUrl: string;
  /** Link to this run, where the job summary is. */
  runUrl: string | undefined;
  /** For workflow_run events: the triggering run (the fork-safe comment job finds and checks the PR from it). */
  workflowRun: WorkflowRunContext | undefined;
  /** The repository's default branch, from the event payload; absent when the payload has no repository. */
  defaultBranch?: string;
  /** `GITHUB_REF`: the branch or tag the run is for (`refs/heads/main` on a push to main). */
  ref?: string;
}

/** The run a `workflow_run` event is about, from the event payload. */
export interface WorkflowRunContext {
  /** The triggering run's id (`GITHUB_RUN_ID` of that run). */
  id: number;
  /** The event that started the triggering run (`pull_request`, `push`, …). */
  event: string;
  /** The commit the triggering run built. */
  headSha: string;
  /** Its branch, in `headRepository`. */
  headBranch: string;
  /** `owner/name` of the repository the commit came from (the fork, for a fork PR). */
  headRepository: string;
  /** Pull requests GitHub associated with the run; empty for PRs from forks. */
  pullRequests: number[];
}

interface PullRequestPayload {
  workflow_run?: {
    id?: number;
    event?: string;
    head_sha?: string;
    head_branch?: string | null;
    head_repository?: { full_name?: string } | null;
    pull_requests?: { number: number }[];
  };
  pull_request?: { number: number; base: { sha: string; repo?: { full_name?: string } }; head: { sha: string; repo?: { full_name?: string } | null } };
  repository?: { default_branch?: string };
}

/** Reads the context from GITHUB_* variables and the event payload (GITHUB_EVENT_PATH). */
export function readRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  let payload: PullRequestPayload = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as PullRequestPayload;
    } catch {
      payload = {};
    }
  }
  const pr = payload.pull_request;
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  return {
    repository: { owner, repo },
    pullRequest: pr && {
      number: pr.number,
      baseSha: pr.base.sha,
      headSha: pr.head.sha,
      fromFork: !!pr.head.repo && !!pr.base.repo && pr.head.repo.full_name !== pr.base.repo.full_name,
    },
    eventName,
    job: env.GITHUB_JOB ?? 'bias-gate',
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    serverUrl: server,
    runUrl: env.GITHUB_RUN_ID && owner ? `${server}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
    workflowRun: payload.workflow_run && {
      id: payload.workflow_run.id ?? 0,
      event: payload.workflow_run.event ?? '',
      headSha: payload.workflow_run.head_sha ?? '',
      headBranch: payload.workflow_run.head_branch ?? '',
      headRepository: payload.workflow_run.head_repository?.full_name ?? '',
      pullRequests: (payload.workflow_run.pull_requests ?? []).map((pr) => pr.number),
    },
    ...(payload.repository?.default_branch ? { defaultBranch: payload.repository.default_branch } : {}),
    ...(env.GITHUB_REF ? { ref: env.GITHUB_REF } : {}),
  };
}
