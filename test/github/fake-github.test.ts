import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClient } from '../../src/github/client.ts';
import { FakeGitHub } from './fake-github.ts';

let fake: FakeGitHub;
let client: GitHubClient;
const repo = { owner: 'octo-org', repo: 'model-zoo' };

beforeEach(async () => {
  fake = await FakeGitHub.start(repo);
  client = createGitHubClient('ghs_fake_installation_token', fake.url);
});

afterEach(async () => {
  // The requests matched GitHub's OpenAPI description, and the fake's answers its response schemas.
  expect(fake.violations).toEqual([]);
  await fake.close();
});

describe('the fake GitHub: pull requests, their files, label events and permissions', () => {
  it('pulls/get and pulls/list answer what setPullRequest stored; list filters by state and head', async () => {
    fake.setPullRequest({ number: 7, headSha: '1'.repeat(40), headRef: 'feature', headRepository: 'fork-owner/model-zoo', labels: ['bias-gate: approve'] });
    fake.setPullRequest({ number: 8, state: 'closed' });
    const pr = (await client.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { ...repo, pull_number: 7 })).data as { head: { sha: string; repo: { full_name: string } }; labels: { name: string }[]; state: string };
    expect(pr.head.sha).toBe('1'.repeat(40));
    expect(pr.head.repo.full_name).toBe('fork-owner/model-zoo');
    expect(pr.labels.map((label) => label.name)).toEqual(['bias-gate: approve']);
    const open = (await client.request('GET /repos/{owner}/{repo}/pulls', { ...repo, head: 'fork-owner:feature' })).data as { number: number }[];
    expect(open.map((p) => p.number)).toEqual([7]);
    const all = (await client.request('GET /repos/{owner}/{repo}/pulls', { ...repo, state: 'all' })).data as { number: number }[];
    expect(all.map((p) => p.number)).toEqual([8, 7]);
    await expect(client.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { ...repo, pull_number: 9 })).rejects.toMatchObject({ status: 404 });
  });

  it('pulls/list-files pages through the files setPullRequestFiles stored', async () => {
    fake.setPullRequest({ number: 7 });
    fake.setPullRequestFiles(7, [...Array.from({ length: 120 }, (_, i) => `models/m${i}.onnx`), { filename: 'ci/x.yml', previousFilename: '.github/workflows/x.yml' }]);
    const first = (await client.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { ...repo, pull_number: 7, per_page: 100 })).data as unknown[];
    const second = (await client.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { ...repo, pull_number: 7, per_page: 100, page: 2 })).data as { filename: string; status: string; previous_filename?: string }[];
    expect(first).toHaveLength(100);
    expect(second).toHaveLength(21);
    expect(second.at(-1)).toMatchObject({ filename: 'ci/x.yml', status: 'renamed', previous_filename: '.github/workflows/x.yml' });
  });

  it('issues/list-events lists labeled events with actor and time', async () => {
    fake.addLabeledEvent(7, { label: 'bias-gate: approve', actor: 'maintainer', createdAt: '2024-05-02T10:00:00Z' });
    fake.addLabeledEvent(8, { label: 'other', actor: 'someone' });
    const events = (await client.request('GET /repos/{owner}/{repo}/issues/{issue_number}/events', { ...repo, issue_number: 7 })).data as { event: string; actor: { login: string }; label: { name: string }; created_at: string }[];
    expect(events).toEqual([expect.objectContaining({ event: 'labeled', actor: expect.objectContaining({ login: 'maintainer' }), label: { name: 'bias-gate: approve', color: 'ededed' }, created_at: '2024-05-02T10:00:00Z' })]);
  });

  it('repos/get-collaborator-permission-level answers setPermission, and 404 for anyone else', async () => {
    fake.setPermission('maintainer', 'write');
    const answer = (await client.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { ...repo, username: 'maintainer' })).data as { permission: string; role_name: string; user: { login: string } };
    expect(answer).toMatchObject({ permission: 'write', role_name: 'write', user: { login: 'maintainer' } });
    await expect(client.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { ...repo, username: 'stranger' })).rejects.toMatchObject({ status: 404 });
  });
});
