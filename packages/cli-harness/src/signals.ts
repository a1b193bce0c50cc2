/**
 * Makes SIGINT or SIGTERM close `resource` (a token signer logs out and
 * finalizes the module) before the process exits with 130 or 143, after
 * `notice(signal)` is written to stderr. Only `close` is replaced, on the
 * object itself, so that everything else it offers stays; closing it
 * removes the signal handlers.
 */
export function closeOnSignals<S extends { close?(): unknown }>(resource: S, notice: (signal: string) => string): S {
  const close = resource.close?.bind(resource);
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(notice(signal));
    void Promise.resolve(close?.()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  resource.close = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close?.();
  };
  return resource;
}

/** A stop SIGINT or SIGTERM asks for, for work that winds down on its own (see `abortOnSignals`). */
export interface SignalStop {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal that stopped the work, if any. */
  readonly stoppedBy: () => NodeJS.Signals | undefined;
  /** Removes the handlers: the signals act as they normally do again. */
  readonly dispose: () => void;
  /** 130 after SIGINT, 143 after SIGTERM, undefined when no signal came. */
  readonly exitCode: () => number | undefined;
}

/**
 * Turns the first SIGINT or SIGTERM into an abort instead of an exit, so that
 * a batch finishes the records in flight, reports, and ends with 130 or 143.
 */
export function abortOnSignals(): SignalStop {
  const stop = new AbortController();
  let by: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    by = signal;
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    stoppedBy: () => by,
    dispose: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
    exitCode: () => (by === undefined ? undefined : by === 'SIGINT' ? 130 : 143),
  };
}
