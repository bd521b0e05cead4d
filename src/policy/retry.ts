/**
 * Retries of failed applies (pure, `spec.policy.retry`): how long to wait
 * before attempt n, like Argo CD's backoff (duration × factor^(n-1), at most
 * maxDuration).
 */
import type { RetryPolicy } from '../domain/manifest.js';
import { durationMs } from './duration.js';

export const RETRY_DEFAULTS = { duration: '5s', factor: 2, maxDuration: '3m' } as const;

/** Milliseconds to wait after the `failures`-th failed apply (1 for the first) before trying again. */
export function retryDelayMs(policy: RetryPolicy, failures: number): number {
  const base = durationMs(policy.backoff?.duration ?? RETRY_DEFAULTS.duration);
  const factor = policy.backoff?.factor ?? RETRY_DEFAULTS.factor;
  const max = durationMs(policy.backoff?.maxDuration ?? RETRY_DEFAULTS.maxDuration);
  return Math.min(max, Math.round(base * factor ** Math.max(0, failures - 1)));
}

/** Whether another attempt is allowed after `failures` failed ones. */
export function retriesLeft(policy: RetryPolicy, failures: number): boolean {
  return failures <= policy.limit;
}
