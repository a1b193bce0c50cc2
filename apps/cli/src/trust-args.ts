// The trust flags are shared with erst-batch, so they live in @erst/node-io.
export { trustOptions, withTrustOptions } from '@erst/node-io';
export type { TrustArgs } from '@erst/node-io';
