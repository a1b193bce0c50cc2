/** How readInputs reads: limits, sharding, and how directories are read. */
export interface ReadOptions {
  /** Largest record accepted, in bytes. */
  maxBytes: number;
  /** Whether this run owns a source (sharding); others are skipped before they are read. */
  accept: (source: string) => boolean;
  /** Files read at once from a directory once reads are found to be slow. */
  readAhead?: number;
  /** Read directories asynchronously from the start (as for slow storage). */
  asyncReads?: boolean;
}
