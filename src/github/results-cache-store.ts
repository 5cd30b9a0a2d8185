import * as cache from '@actions/cache';
import * as core from '@actions/core';
import { messageOf } from '../errors.ts';

/**
 * The result cache directory travels between runs through the Actions cache.
 * Entries are content-addressed, so one rolling cache per OS is enough: restore
 * the newest, save a new one after the run. Cache trouble never fails the gate:
 * every failure here, even a missing cache service, means "score afresh".
 */
export async function restoreResultCache(directory: string, runnerOs: string, runId: string): Promise<void> {
  try {
    if (!cache.isFeatureAvailable()) {
      core.info('Actions cache unavailable here: every model is scored afresh.');
      return;
    }
    const hit = await cache.restoreCache([directory], `${keyPrefix(runnerOs)}${runId}`, [keyPrefix(runnerOs)]);
    core.info(hit ? `Restored scored results from the Actions cache (${hit}).` : 'No cached results yet.');
  } catch (error) {
    core.info(`Cached results not restored (${messageOf(error)}); scoring afresh.`);
  }
}

export async function saveResultCache(directory: string, runnerOs: string, runId: string): Promise<void> {
  try {
    if (!cache.isFeatureAvailable()) return;
    await cache.saveCache([directory], `${keyPrefix(runnerOs)}${runId}`);
  } catch (error) {
    core.info(`Results were not saved to the Actions cache (${messageOf(error)}).`);
  }
}

function keyPrefix(runnerOs: string): string {
  return `bias-gate-results-v1-${runnerOs}-`;
}
