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
  /**
   * Called once a `.jsonl`, `.tar` or `.tar.gz` input has been read to its
   * end: the digest of every byte of the file as read (`inputDigest`: SHA-256 over each 8 MiB block's; for `.tar.gz`, the
   * compressed bytes), so that a later run can tell whether the file is the
   * same without splitting it into records (see `inputDigest`). Never called
   * for an input whose reading stopped early or yielded a failure item.
   */
  onInputDigest?: (input: number, sha256: string) => void;
}
