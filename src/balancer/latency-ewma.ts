// Peak-EWMA of a peer's response latency, as in Finagle's and tower's PeakEwma. With w = exp(-dt / tau),
// tau = 10 s and dt the time since the last sample:
//   read(now)          = ewma * w                               (decays toward 0 while idle, so a peer that
//                                                                looked slow is eventually tried again)
//   observe(sample)    = sample                    if sample > read(now)   (peaks are taken at once)
//                      = read(now) + sample * (1 - w)   otherwise          (time-weighted average)
// A failed attempt is observed as at least FAILURE_PENALTY_MS so fast errors do not attract traffic.
// Not a percentile estimator and not a timer: callers pass the clock and the measured latency.

import type { Peer } from './peer.ts';

export const EWMA_DECAY_MS = 10_000;
/** Estimate a peer starts with, before any response was measured. */
export const INITIAL_LATENCY_MS = 30;
export const FAILURE_PENALTY_MS = 1_000;

export function resetLatency(peer: Peer, now: number): void {
  peer.latencyEwmaMs = INITIAL_LATENCY_MS;
  peer.latencyStampMs = now;
}

export function readLatency(peer: Peer, now: number): number {
  const dt = Math.max(0, now - peer.latencyStampMs);
  return peer.latencyEwmaMs * Math.exp(-dt / EWMA_DECAY_MS);
}

export function observeLatency(peer: Peer, sampleMs: number, now: number): void {
  const dt = Math.max(0, now - peer.latencyStampMs);
  const w = Math.exp(-dt / EWMA_DECAY_MS);
  const decayed = peer.latencyEwmaMs * w;
  peer.latencyEwmaMs = sampleMs > decayed ? sampleMs : decayed + sampleMs * (1 - w);
  peer.latencyStampMs = now;
}
