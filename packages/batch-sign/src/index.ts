export { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, signBatch } from './sign-batch.js';
export type {
  BadLine,
  BatchCounts,
  BatchProgress,
  BatchResult,
  SignBatchOptions,
  ThreadSigningSigner,
} from './sign-batch.js';
// The contract a token signer and these signing threads share, defined beside Signer.
export type { ThreadSigning } from '@erst/core';
export { openBatchInput, streamBatchInput } from './input.js';
export type { BatchSource } from './input.js';
export { directorySink } from './directory-sink.js';
export { jsonlSink } from './jsonl-sink.js';
export type { BatchRecord, Previous, RecordLayout, RecordSink, ResumeContext } from './sink.js';
export type { GroupStage, Released, StageContext } from './group-commit.js';
export { journalPath, logStage } from './log-stage.js';
export type { LogStage, LogStageOptions, LogStageStats, LogStep } from './log-stage.js';
export { killHookFromEnv } from './kill-hook.js';
export { initSignerLog, openSignerLog, signRecordToLog } from './signer-log.js';
export type { SignerLogOptions } from './signer-log.js';
export { DEFAULT_TSA_CONCURRENCY, MAX_TSA_CONCURRENCY, isTimestampFailure, tsaTimestamper } from './timestamper.js';
export type { Timestamper, TimestamperOptions, TimestamperStats } from './timestamper.js';
export { batchSummary, logSummary } from './summary.js';
export type { BatchSummaryInfo } from './summary.js';
export { signOne } from './sign-one.js';
export type { SignOneOptions, SignedOne } from './sign-one.js';
export { runSignBatch } from './run.js';
export type { RunSignBatchOptions, SignBatchRun } from './run.js';
