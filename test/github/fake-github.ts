/**
 * A local stand-in for the parts of GitHub's REST API that bias-gate's comment code uses, for
 * tests that drive a real octokit against it. Every request is checked against GitHub's published
 * OpenAPI description (@octokit/openapi): an unknown route, an undeclared query parameter or a
 * request body that does not validate is recorded in {@link FakeGitHub.violations}, and so is a
 * 2xx answer of the fake itself that does not match the documented response schema.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import { repoPath } from '../helpers.ts';

/** GitHub's OpenAPI 3.0 description of api.github.com (with `$ref`s; about 13 MB, parsed in ~0.1 s). */
export const OPENAPI_PATH = repoPath('node_modules/@octokit/openapi/generated/api.github.com.json');

/** The operations the fake answers, by their OpenAPI `operationId`. */
export type FakeOperation =
  | 'users/get-authenticated'
  | 'issues/list-comments'
  | 'issues/create-comment'
  | 'issues/update-comment'
  | 'issues/delete-comment'
  | 'issues/list-events'
  | 'pulls/get'
  | 'pulls/list'
  | 'pulls/list-files'
  | 'repos/get-collaborator-permission-level';

/** A pull request as stored by the fake; answered in GitHub's `pull-request` / `pull-request-simple` shapes. */
export interface FakePullRequest {
  number: number;
  state: 'open' | 'closed';
  /** Head commit and branch, and the repository they are in (`owner/name`; another one for a fork PR). */
  headSha: string;
  headRef: string;
  headRepository: string;
  baseSha: string;
  baseRef: string;
  /** The author's login. */
  author: string;
  /** Label names. */
  labels: string[];
}

/** A file a pull request changes, as `pulls/list-files` lists it. */
export interface FakePullRequestFile {
  filename: string;
  status?: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';
  /** The old name of a renamed file. */
  previousFilename?: string;
}

/** A `labeled` event on an issue or pull request, as `issues/list-events` lists it. */
export interface FakeLabeledEvent {
  id: number;
  issueNumber: number;
  label: string;
  /** Who added the label. */
  actor: string;
  createdAt: string;
}

/** A user's permission on the repository, as `repos/get-collaborator-permission-level` answers it. */
export type FakePermission = 'admin' | 'write' | 'read' | 'none';

/** Who the token belongs to. */
export type FakeIdentity =
  | { kind: 'user'; login: string }
  /** An installation token (GITHUB_TOKEN): `GET /user` is 403, comments are by `github-actions[bot]`. */
  | { kind: 'installation'; botLogin?: string };

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** The path as sent (before `/repositories/{id}` links are mapped to `/repos/{owner}/{repo}`). */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** The matched OpenAPI operation, or undefined for an unknown route. */
  operationId: string | undefined;
}

/** A comment as stored by the fake; answered in GitHub's full `issue-comment` shape. */
export interface FakeComment {
  id: number;
  issueNumber: number;
  body: string;
  user: { login: string; type: 'User' | 'Bot' };
  createdAt: string;
  updatedAt: string;
}

interface FailureRule {
  operation: FakeOperation;
  status: number;
  remaining: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  identity?: FakeIdentity;
}

/** GitHub's documentation links, as its error bodies carry them. */
const DOCS: Record<FakeOperation, string> = {
  'users/get-authenticated': 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
  'issues/list-comments': 'https://docs.github.com/rest/issues/comments#list-issue-comments',
  'issues/create-comment': 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
  'issues/update-comment': 'https://docs.github.com/rest/issues/comments#update-an-issue-comment',
  'issues/delete-comment': 'https://docs.github.com/rest/issues/comments#delete-an-issue-comment',
  'issues/list-events': 'https://docs.github.com/rest/issues/events#list-issue-events',
  'pulls/get': 'https://docs.github.com/rest/pulls/pulls#get-a-pull-request',
  'pulls/list': 'https://docs.github.com/rest/pulls/pulls#list-pull-requests',
  'pulls/list-files': 'https://docs.github.com/rest/pulls/pulls#list-pull-requests-files',
  'repos/get-collaborator-permission-level': 'https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user',
};

const REPOSITORY_ID = 770_001;
const COMMENT_LIMIT = 65_536;

export class FakeGitHub {
  /** Base URL of the API (`http://127.0.0.1:<port>`), for `createGitHubClient(token, url)`. */
  readonly url: string;
  readonly owner: string;
  readonly repo: string;
  identity: FakeIdentity;
  /** Every request, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Departures from GitHub's OpenAPI description, by the client or by the fake. Tests expect none. */
  readonly violations: string[] = [];
  /** Called before each request is answered (failure modes apply first): another actor's move. */
  beforeAnswer: ((operation: FakeOperation) => void) | undefined;
  /** Called before a POSTed comment is stored (a racing run that posted just before). */
  beforeCreate: (() => void) | undefined;
  /** Called after a POSTed comment is stored (a racing run that posted just after). */
  afterCreate: ((created: FakeComment) => void) | undefined;

  private readonly comments: FakeComment[] = [];
  private readonly pullRequests = new Map<number, FakePullRequest>();
  private readonly pullRequestFiles = new Map<number, FakePullRequestFile[]>();
  private readonly labeledEvents: FakeLabeledEvent[] = [];
  private readonly permissions = new Map<string, { permission: FakePermission; roleName: string }>();
  private readonly failures: FailureRule[] = [];
  private nextId = 1_000_001;
  private clock = Date.parse('2024-05-01T12:00:00Z');

  private constructor(
    private readonly server: Server,
    options: FakeGitHubOptions,
    private readonly checker: OpenApiChecker,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.owner = options.owner ?? 'octo-org';
    this.repo = options.repo ?? 'model-zoo';
    this.identity = options.identity ?? { kind: 'installation' };
  }

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const checker = OpenApiChecker.shared();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeGitHub(server, options, checker);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      fake.handle(request, response).catch((error: unknown) => {
        fake.violations.push(`fake failed: ${String(error)}`);
        response.writeHead(500).end();
      });
    });
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  /** The login comments made with the token are authored by. */
  get login(): string {
    return this.identity.kind === 'user' ? this.identity.login : (this.identity.botLogin ?? 'github-actions[bot]');
  }

  /** Adds a comment directly (someone else's, or one left by an earlier run). */
  addComment(issueNumber: number, body: string, user: { login: string; type?: 'User' | 'Bot' } = { login: this.login }): FakeComment {
    const at = new Date((this.clock += 1_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const comment: FakeComment = { id: this.nextId++, issueNumber, body, user: { login: user.login, type: user.type ?? (user.login.endsWith('[bot]') ? 'Bot' : 'User') }, createdAt: at, updatedAt: at };
    this.comments.push(comment);
    return comment;
  }

  /** Deletes a comment directly (as another run or a person would). */
  removeComment(id: number): void {
    const index = this.comments.findIndex((comment) => comment.id === id);
    if (index !== -1) this.comments.splice(index, 1);
  }

  /** The comments on an issue, oldest first. */
  commentsOn(issueNumber: number): FakeComment[] {
    return this.comments.filter((comment) => comment.issueNumber === issueNumber);
  }

  /**
   * Makes `operation` answer `status` for its next `times` calls (default: always), with GitHub's
   * error body for that status (or `message`); 403 is "Resource not accessible by integration".
   */
  fail(operation: FakeOperation, status: number, options: { times?: number; message?: string; headers?: Record<string, string> } = {}): void {
    this.failures.push({ operation, status, remaining: options.times ?? Infinity, body: errorBody(status, operation, options.message), headers: options.headers ?? {} });
  }

  /**
   * Adds or changes a pull request of this repository. Defaults: open, head branch `feature` of
   * this repository at a fixed sha, base `main`, author `octocat`, no labels.
   */
  setPullRequest(pullRequest: Partial<FakePullRequest> & { number: number }): FakePullRequest {
    const stored: FakePullRequest = {
      state: 'open',
      headSha: 'a'.repeat(40),
      headRef: 'feature',
      headRepository: `${this.owner}/${this.repo}`,
      baseSha: 'b'.repeat(40),
      baseRef: 'main',
      author: 'octocat',
      labels: [],
      ...this.pullRequests.get(pullRequest.number),
      ...pullRequest,
    };
    this.pullRequests.set(stored.number, stored);
    return stored;
  }

  /** The files `pulls/list-files` lists for a pull request (names, or entries with a status). */
  setPullRequestFiles(pullRequestNumber: number, files: (string | FakePullRequestFile)[]): void {
    this.pullRequestFiles.set(pullRequestNumber, files.map((file) => (typeof file === 'string' ? { filename: file } : file)));
  }

  /** Records that `actor` added `label` to an issue or pull request (listed by `issues/list-events`). */
  addLabeledEvent(issueNumber: number, event: { label: string; actor: string; createdAt?: string }): FakeLabeledEvent {
    const createdAt = event.createdAt ?? new Date((this.clock += 1_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const stored: FakeLabeledEvent = { id: this.nextId++, issueNumber, label: event.label, actor: event.actor, createdAt };
    this.labeledEvents.push(stored);
    return stored;
  }

  /** A user's permission on the repository; a user never set answers 404 (not a collaborator, as far as the fake knows). */
  setPermission(username: string, permission: FakePermission, roleName: string = { admin: 'admin', write: 'write', read: 'read', none: 'none' }[permission]): void {
    this.permissions.set(username.toLowerCase(), { permission, roleName });
  }

  /** Requests for one operation. */
  requestsFor(operation: FakeOperation): RecordedRequest[] {
    return this.requests.filter((request) => request.operationId === operation);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', this.url);
    const raw = await readBody(request);
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      this.violations.push(`${method} ${url.pathname}: request body is not JSON`);
    }
    // GitHub's pagination links name the repository by id: /repositories/770001/issues/…
    const path = url.pathname.replace(new RegExp(`^/repositories/${REPOSITORY_ID}/`), `/repos/${this.owner}/${this.repo}/`);
    const query = Object.fromEntries(url.searchParams);
    const match = this.checker.match(method, path);
    this.requests.push({ method, path: url.pathname, query, body, operationId: match?.operationId });
    if (!match) {
      this.violations.push(`${method} ${url.pathname}: no such operation in GitHub's OpenAPI description`);
      return send(response, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
    this.violations.push(...this.checker.checkRequest(match, query, request.headers['content-type'], body).map((problem) => `${method} ${url.pathname}: ${problem}`));
    if (!request.headers.authorization) return send(response, 401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });

    const operation = match.operationId as FakeOperation;
    const failure = this.failures.find((rule) => rule.operation === operation && rule.remaining > 0);
    if (failure) {
      failure.remaining--;
      return send(response, failure.status, failure.body, failure.headers);
    }
    this.beforeAnswer?.(operation);
    const answer = this.answer(operation, match.params, query, body);
    if (answer.status < 300) {
      this.violations.push(...this.checker.checkResponse(match, answer.status, answer.data).map((problem) => `fake's answer to ${method} ${url.pathname}: ${problem}`));
    }
    send(response, answer.status, answer.data, answer.headers);
  }

  private answer(operation: FakeOperation, params: Record<string, string>, query: Record<string, string>, body: unknown): { status: number; data?: unknown; headers?: Record<string, string> } {
    if (operation === 'users/get-authenticated') {
      if (this.identity.kind === 'installation') return { status: 403, data: errorBody(403, operation) };
      return { status: 200, data: publicUser(this.identity.login, 'User') };
    }
    if (params.owner !== this.owner || params.repo !== this.repo) return { status: 404, data: errorBody(404, operation) };
    const text = (body as { body?: unknown } | undefined)?.body;
    switch (operation) {
      case 'issues/list-comments': {
        const perPage = Math.min(100, Math.max(1, Number(query.per_page ?? 30)));
        const page = Math.max(1, Number(query.page ?? 1));
        const issueNumber = Number(params.issue_number);
        const all = this.commentsOn(issueNumber);
        const last = Math.max(1, Math.ceil(all.length / perPage));
        const link = (n: number) => `<${this.url}/repositories/${REPOSITORY_ID}/issues/${issueNumber}/comments?per_page=${perPage}&page=${n}>`;
        const links = [
          ...(page > 1 ? [`${link(page - 1)}; rel="prev"`] : []),
          ...(page < last ? [`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`] : []),
          ...(page > 1 ? [`${link(1)}; rel="first"`] : []),
        ];
        const data = all.slice((page - 1) * perPage, page * perPage).map((comment) => this.render(comment));
        return { status: 200, data, headers: links.length > 0 ? { link: links.join(', ') } : {} };
      }
      case 'issues/create-comment': {
        if (typeof text !== 'string') return { status: 422, data: errorBody(422, operation, 'Invalid request.') };
        if (text.length > COMMENT_LIMIT) return { status: 422, data: errorBody(422, operation) };
        this.beforeCreate?.();
        const created = this.addComment(Number(params.issue_number), text);
        this.afterCreate?.(created);
        return { status: 201, data: this.render(created), headers: { location: `${this.url}/repos/${this.owner}/${this.repo}/issues/comments/${created.id}` } };
      }
      case 'issues/update-comment': {
        const comment = this.comments.find((c) => c.id === Number(params.comment_id));
        if (!comment) return { status: 404, data: errorBody(404, operation) };
        if (typeof text !== 'string') return { status: 422, data: errorBody(422, operation, 'Invalid request.') };
        if (text.length > COMMENT_LIMIT) return { status: 422, data: errorBody(422, operation) };
        comment.body = text;
        comment.updatedAt = new Date((this.clock += 1_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
        return { status: 200, data: this.render(comment) };
      }
      case 'issues/delete-comment': {
        const index = this.comments.findIndex((c) => c.id === Number(params.comment_id));
        if (index === -1) return { status: 404, data: errorBody(404, operation) };
        this.comments.splice(index, 1);
        return { status: 204 };
      }
      case 'issues/list-events': {
        const events = this.labeledEvents.filter((event) => event.issueNumber === Number(params.issue_number));
        return { status: 200, data: page(events, query).map((event) => this.renderLabeledEvent(event)) };
      }
      case 'pulls/get': {
        const pullRequest = this.pullRequests.get(Number(params.pull_number));
        if (!pullRequest) return { status: 404, data: errorBody(404, operation) };
        return { status: 200, data: this.renderPullRequest(pullRequest, 'full') };
      }
      case 'pulls/list': {
        const state = query.state ?? 'open';
        const [headOwner, headRef] = query.head?.includes(':') ? query.head.split(/:(.*)/s) : [undefined, query.head];
        const listed = [...this.pullRequests.values()]
          .filter((pr) => state === 'all' || pr.state === state)
          .filter((pr) => headRef === undefined || (pr.headRef === headRef && (headOwner === undefined || pr.headRepository.split('/')[0] === headOwner)))
          .filter((pr) => query.base === undefined || pr.baseRef === query.base)
          .sort((a, b) => b.number - a.number);
        return { status: 200, data: page(listed, query).map((pr) => this.renderPullRequest(pr, 'simple')) };
      }
      case 'pulls/list-files': {
        const pullRequest = this.pullRequests.get(Number(params.pull_number));
        if (!pullRequest) return { status: 404, data: errorBody(404, operation) };
        const files = (this.pullRequestFiles.get(pullRequest.number) ?? []).slice(0, 3_000);
        return { status: 200, data: page(files, query).map((file) => this.renderFile(pullRequest, file)) };
      }
      case 'repos/get-collaborator-permission-level': {
        const granted = this.permissions.get(params.username!.toLowerCase());
        if (!granted) return { status: 404, data: errorBody(404, operation) };
        return { status: 200, data: { permission: granted.permission, role_name: granted.roleName, user: { ...simpleUser(params.username!, 'User'), role_name: granted.roleName } } };
      }
    }
  }

  /** A pull request in the shape of GitHub's `pull-request` (`full`) or `pull-request-simple` schema, from GitHub's own example. */
  private renderPullRequest(pullRequest: FakePullRequest, shape: 'full' | 'simple'): Record<string, unknown> {
    const example = shape === 'full' ? this.checker.example('pull-request') : (this.checker.example('pull-request-simple-items') as unknown[])[0];
    const data = structuredClone(example) as Record<string, unknown> & { head: Record<string, unknown>; base: Record<string, unknown> };
    const api = `${this.url}/repos/${this.owner}/${this.repo}`;
    const side = (template: Record<string, unknown>, repository: string, ref: string, sha: string) => {
      const [owner = '', name = ''] = repository.split('/');
      const repo = template.repo as Record<string, unknown>;
      return { ...template, label: `${owner}:${ref}`, ref, sha, user: simpleUser(owner, 'User'), repo: { ...repo, name, full_name: repository, owner: simpleUser(owner, 'User'), html_url: `https://github.com/${repository}`, fork: repository !== `${this.owner}/${this.repo}` } };
    };
    Object.assign(data, {
      url: `${api}/pulls/${pullRequest.number}`,
      html_url: `https://github.com/${this.owner}/${this.repo}/pull/${pullRequest.number}`,
      issue_url: `${api}/issues/${pullRequest.number}`,
      number: pullRequest.number,
      state: pullRequest.state,
      user: simpleUser(pullRequest.author, 'User'),
      labels: pullRequest.labels.map((name, index) => ({ id: 208_045_946 + index, node_id: `MDU6TGFiZWwyMDgwNDU5${index}`, url: `${api}/labels/${encodeURIComponent(name)}`, name, description: '', color: 'ededed', default: false })),
      requested_reviewers: [],
      requested_teams: [],
      head: side(data.head, pullRequest.headRepository, pullRequest.headRef, pullRequest.headSha),
      base: side(data.base, `${this.owner}/${this.repo}`, pullRequest.baseRef, pullRequest.baseSha),
    });
    return data;
  }

  /** A changed file in the shape of GitHub's `diff-entry` schema. */
  private renderFile(pullRequest: FakePullRequest, file: FakePullRequestFile): Record<string, unknown> {
    const blob = `https://github.com/${pullRequest.headRepository}`;
    return {
      sha: 'bbcd538c8e72b8c175046e27cc8f907076331401',
      filename: file.filename,
      status: file.status ?? (file.previousFilename ? 'renamed' : 'modified'),
      additions: 1,
      deletions: 1,
      changes: 2,
      blob_url: `${blob}/blob/${pullRequest.headSha}/${file.filename}`,
      raw_url: `${blob}/raw/${pullRequest.headSha}/${file.filename}`,
      contents_url: `${this.url}/repos/${this.owner}/${this.repo}/contents/${file.filename}?ref=${pullRequest.headSha}`,
      ...(file.previousFilename ? { previous_filename: file.previousFilename } : {}),
    };
  }

  /** A `labeled` event in the shape of GitHub's `labeled-issue-event` schema. */
  private renderLabeledEvent(event: FakeLabeledEvent): Record<string, unknown> {
    return {
      id: event.id,
      node_id: `LE_kwDO${event.id.toString(36)}`,
      url: `${this.url}/repos/${this.owner}/${this.repo}/issues/events/${event.id}`,
      actor: simpleUser(event.actor, event.actor.endsWith('[bot]') ? 'Bot' : 'User'),
      event: 'labeled',
      commit_id: null,
      commit_url: null,
      created_at: event.createdAt,
      performed_via_github_app: null,
      label: { name: event.label, color: 'ededed' },
    };
  }

  /** A comment in the shape of GitHub's `issue-comment` schema. */
  private render(comment: FakeComment): Record<string, unknown> {
    const api = `${this.url}/repos/${this.owner}/${this.repo}`;
    return {
      id: comment.id,
      node_id: `IC_kwDO${comment.id.toString(36)}`,
      url: `${api}/issues/comments/${comment.id}`,
      html_url: `https://github.com/${this.owner}/${this.repo}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
      body: comment.body,
      user: simpleUser(comment.user.login, comment.user.type),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      issue_url: `${api}/issues/${comment.issueNumber}`,
      author_association: comment.user.type === 'Bot' ? 'NONE' : 'MEMBER',
      performed_via_github_app: null,
      reactions: { url: `${api}/issues/comments/${comment.id}/reactions`, total_count: 0, '+1': 0, '-1': 0, laugh: 0, confused: 0, heart: 0, hooray: 0, eyes: 0, rocket: 0 },
    };
  }
}

/** One page of a list, by the `per_page` (default 30, at most 100) and `page` query parameters. */
function page<T>(items: readonly T[], query: Record<string, string>): T[] {
  const perPage = Math.min(100, Math.max(1, Number(query.per_page ?? 30)));
  const number = Math.max(1, Number(query.page ?? 1));
  return items.slice((number - 1) * perPage, number * perPage);
}

function simpleUser(login: string, type: 'User' | 'Bot'): Record<string, unknown> {
  const id = [...login].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) % 100_000_000, 7);
  const api = `https://api.github.com/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: `MDQ6VXNlcj${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `https://github.com/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type,
    user_view_type: 'public',
    site_admin: false,
  };
}

function publicUser(login: string, type: 'User' | 'Bot'): Record<string, unknown> {
  return {
    ...simpleUser(login, type),
    name: null,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    public_repos: 3,
    public_gists: 0,
    followers: 1,
    following: 0,
    created_at: '2019-03-01T09:00:00Z',
    updated_at: '2024-04-01T09:00:00Z',
  };
}

/** GitHub's error bodies. */
function errorBody(status: number, operation: FakeOperation, message?: string): unknown {
  const documentation_url = DOCS[operation];
  if (status === 422) {
    return {
      message: 'Validation Failed',
      errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: message ?? `body is too long (maximum is ${COMMENT_LIMIT} characters)` }],
      documentation_url,
      status: '422',
    };
  }
  const defaults: Record<number, string> = { 401: 'Bad credentials', 403: 'Resource not accessible by integration', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Server Error', 503: 'Service Unavailable' };
  return { message: message ?? defaults[status] ?? 'Error', documentation_url, status: String(status) };
}

function send(response: ServerResponse, status: number, data?: unknown, headers: Record<string, string> = {}): void {
  const text = data === undefined || status === 204 ? '' : JSON.stringify(data);
  response.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), 'x-github-api-version-selected': '2022-11-28', ...headers });
  response.end(text);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI check

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonObject;
}

interface OperationMatch {
  operationId: string;
  template: string;
  method: string;
  params: Record<string, string>;
  parameters: Parameter[];
  operation: JsonObject;
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  literalSegments: number;
  operation: JsonObject;
  parameters: Parameter[];
}

let sharedChecker: OpenApiChecker | undefined;

/** Matches requests to GitHub's OpenAPI operations and validates them with ajv. */
export class OpenApiChecker {
  private readonly routes: Route[] = [];
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly spec: JsonObject) {
    const paths = spec.paths as Record<string, JsonObject>;
    for (const [template, item] of Object.entries(paths)) {
      const shared = ((item.parameters as Json[] | undefined) ?? []).map((p) => this.resolve(p) as unknown as Parameter);
      const names: string[] = [];
      const pattern = new RegExp(
        `^${template
          .split('/')
          .map((segment) => (/^\{[^}]+\}$/.test(segment) ? (names.push(segment.slice(1, -1)), '([^/]+)') : segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
          .join('/')}$`,
      );
      const literalSegments = template.split('/').filter((segment) => segment && !segment.startsWith('{')).length;
      for (const [method, operation] of Object.entries(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue;
        const own = (((operation as JsonObject).parameters as Json[] | undefined) ?? []).map((p) => this.resolve(p) as unknown as Parameter);
        this.routes.push({ method: method.toUpperCase(), template, pattern, names, literalSegments, operation: operation as JsonObject, parameters: [...shared, ...own] });
      }
    }
  }

  /** One checker per test file: parsing the description takes a tenth of a second. */
  static shared(): OpenApiChecker {
    sharedChecker ??= new OpenApiChecker(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as JsonObject);
    return sharedChecker;
  }

  /**
   * The operation for a method and path: among the templates that match, the one with the most
   * literal segments whose path parameters validate (`/issues/comments` is not `/issues/{number}`).
   */
  match(method: string, path: string): OperationMatch | undefined {
    const candidates = this.routes
      .filter((route) => route.method === method && route.pattern.test(path))
      .sort((a, b) => b.literalSegments - a.literalSegments);
    for (const route of candidates) {
      const values = route.pattern.exec(path)!.slice(1).map((value) => decodeURIComponent(value));
      const params = Object.fromEntries(route.names.map((name, index) => [name, values[index]!]));
      const fits = route.parameters.filter((p) => p.in === 'path').every((p) => this.validateValue(p.schema, params[p.name] ?? '').length === 0);
      if (fits) return { operationId: String(route.operation.operationId), template: route.template, method, params, parameters: route.parameters, operation: route.operation };
    }
    return undefined;
  }

  /** A named example of GitHub's description (`#/components/examples/<name>`), as a template for answers. */
  example(name: string): unknown {
    return structuredClone((((this.spec.components as JsonObject).examples as JsonObject)[name] as JsonObject).value);
  }

  /** Problems with a request to a matched operation: query parameters and JSON body. */
  checkRequest(match: OperationMatch, query: Record<string, string>, contentType: string | undefined, body: unknown): string[] {
    const problems: string[] = [];
    const declared = new Map(match.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]));
    for (const [name, value] of Object.entries(query)) {
      const parameter = declared.get(name);
      if (!parameter) problems.push(`query parameter "${name}" is not declared for ${match.method} ${match.template}`);
      else problems.push(...this.validateValue(parameter.schema, value).map((problem) => `query parameter "${name}": ${problem}`));
    }
    for (const parameter of declared.values()) {
      if (parameter.required && !(parameter.name in query)) problems.push(`required query parameter "${parameter.name}" is missing`);
    }
    const requestBody = match.operation.requestBody === undefined ? undefined : (this.resolve(match.operation.requestBody) as JsonObject);
    if (requestBody === undefined) {
      if (body !== undefined) problems.push(`${match.method} ${match.template} takes no request body`);
      return problems;
    }
    if (body === undefined) {
      if (requestBody.required) problems.push('the request body is required');
      return problems;
    }
    if (!contentType?.startsWith('application/json')) problems.push(`content-type is ${contentType ?? 'missing'}, not application/json`);
    const schema = ((requestBody.content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined)?.schema;
    if (schema) problems.push(...this.validate(`request ${match.method} ${match.template}`, schema, body));
    return problems;
  }

  /** Problems with a successful answer: an undeclared status, or a body off the schema. */
  checkResponse(match: OperationMatch, status: number, data: unknown): string[] {
    const responses = match.operation.responses as JsonObject;
    const declared = responses[String(status)];
    if (declared === undefined) return [`status ${status} is not declared (declared: ${Object.keys(responses).join(', ')})`];
    const schema = (((this.resolve(declared) as JsonObject).content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined)?.schema;
    return schema ? this.validate(`response ${status} ${match.method} ${match.template}`, schema, data) : [];
  }

  private validate(key: string, schema: Json, data: unknown): string[] {
    let validator = this.validators.get(key);
    if (!validator) {
      validator = this.ajv.compile(toJsonSchema(schema, this.spec, []) as object);
      this.validators.set(key, validator);
    }
    if (validator(data)) return [];
    return (validator.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? 'is invalid'}`);
  }

  /** Validates a path or query value (a string on the wire) against its parameter schema. */
  private validateValue(schema: JsonObject | undefined, value: string): string[] {
    if (!schema) return [];
    const resolved = toJsonSchema(schema, this.spec, []) as JsonObject;
    const typed = resolved.type === 'integer' || resolved.type === 'number' ? (/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value) : resolved.type === 'boolean' ? (value === 'true' ? true : value === 'false' ? false : value) : value;
    const validator = this.ajv.compile(resolved);
    return validator(typed) ? [] : (validator.errors ?? []).map((error) => `${JSON.stringify(value)} ${error.message ?? 'is invalid'}`);
  }

  private resolve(node: Json): Json {
    let current = node;
    for (let depth = 0; depth < 20 && isObject(current) && typeof current.$ref === 'string'; depth++) current = pointer(this.spec, current.$ref);
    return current;
  }
}

function isObject(node: unknown): node is JsonObject {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

function pointer(spec: JsonObject, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, not ${ref}`);
  let node: Json = spec;
  for (const token of ref.slice(2).split('/')) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) || !(key in node)) throw new Error(`$ref ${ref} does not resolve`);
    node = node[key]!;
  }
  return node;
}

/**
 * An OpenAPI 3.0 schema as plain JSON Schema for ajv: `$ref`s inlined (a cycle becomes `{}`), and
 * `nullable: true` without a `type` (on `allOf`/`anyOf` schemas) turned into `anyOf [..., null]`.
 */
function toJsonSchema(node: Json, spec: JsonObject, stack: string[]): Json {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, spec, stack));
  if (!isObject(node)) return node;
  if (typeof node.$ref === 'string') {
    if (stack.includes(node.$ref)) return {};
    return toJsonSchema(pointer(spec, node.$ref), spec, [...stack, node.$ref]);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    // Keywords whose values are not schemas are copied as they are.
    if (key === 'properties' || key === 'patternProperties') {
      out[key] = isObject(value) ? Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, toJsonSchema(schema, spec, stack)])) : value;
    } else {
      out[key] = key === 'example' || key === 'examples' || key === 'enum' || key === 'required' || key === 'default' ? value : toJsonSchema(value, spec, stack);
    }
  }
  if (out.nullable === true) {
    if (out.type === undefined) {
      delete out.nullable;
      return { anyOf: [out, { type: 'null' }] };
    }
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}
