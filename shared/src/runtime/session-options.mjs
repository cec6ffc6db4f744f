// The onnxruntime-node session options of every serving session (the inference workers, the inline
// lane) and of the benches that measure against them (raw, floor). Plain JS on purpose:
// inference-worker.mjs imports it without the parent's TypeScript loader. Types: session-options.d.mts.

/** Options for a session with `intraOpThreads` intra-op threads; `spin: true` lets idle threads spin. */
export function servingSessionOptions(intraOpThreads, { spin = false } = {}) {
  return {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // Idle intra-op threads sleep instead of spinning: the cores are shared with the event loop
    // (HTTP, MQTT) and other workers, where spinning threads steal the CPU they wait for.
    ...(spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}
